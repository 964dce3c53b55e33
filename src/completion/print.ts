/** `sovereign __complete <words…>`: the candidates, one `value<TAB>description` line each. */
import { completeWords, type ValueSource } from './candidates.js';

export async function printCompletions(words: string[]): Promise<number> {
  // The project (and node:crypto with it) loads only when a value is asked for, not for a command or an option.
  let values: ValueSource | undefined;
  const source: ValueSource = async (kind) => {
    values ??= (await import('./project-values.js')).projectValues(words);
    return values(kind);
  };
  try {
    const candidates = await completeWords(words, source);
    process.stdout.write(candidates.map((c) => `${c.value}\t${c.description.replace(/\s+/g, ' ')}\n`).join(''));
  } catch {
    // A TAB that cannot be answered offers nothing rather than an error in the middle of a command line.
  }
  return 0;
}
