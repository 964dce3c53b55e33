import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './registry.js';

describe('the command table', () => {
  it('loads a declared command for every entry, each with examples and every option described', async () => {
    for (const entry of COMMANDS) {
      const { default: module } = await entry.load();
      const name = entry.path.join(' ');
      expect(module.examples.length, name).toBeGreaterThan(0);
      expect(module.examples.every((e) => /(^|\| )sovereign |^curl /.test(e)), name).toBe(true);
      const command = new Command(entry.path.at(-1)!);
      module.configure(command);
      for (const option of command.options) if (!option.hidden) expect(option.description, `${name} ${option.flags}`).not.toBe('');
    }
  });
});
