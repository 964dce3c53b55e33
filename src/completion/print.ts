/** `sovereign __complete <words…>`: the candidates, one `value<TAB>description` line each. */
import { completeWords } from './candidates.js';
import { projectValues } from './project-values.js';

export async function printCompletions(words: string[]): Promise<number> {
  try {
    const candidates = await completeWords(words, projectValues(words));
    process.stdout.write(candidates.map((c) => `${c.value}\t${c.description.replace(/\s+/g, ' ')}\n`).join(''));
  } catch {
    // A TAB that cannot be answered offers nothing rather than an error in the middle of a command line.
  }
  return 0;
}
