import type { CommanderError } from 'commander';
import { badInput, type UserError } from '../errors.js';

/**
 * A commander usage error (unknown option, missing argument, invalid choice) as the `error:` and
 * `hint:` lines of exit 2; commander's "Did you mean …?" becomes the hint.
 */
export function usageError(error: CommanderError): UserError {
  const lines = error.message.split('\n').filter(Boolean);
  const message = lines[0]!.replace(/^error:\s*/, '');
  const suggestion = lines.find((l) => /Did you mean/.test(l));
  return badInput(message, suggestion ? suggestion.replace(/^\(|\)$/g, '') : 'run with --help to see the usage');
}
