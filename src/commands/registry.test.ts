import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandPathOf } from '../cli.js';
import { COMMANDS, GROUPS, SUBGROUPS } from './registry.js';

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

  it('names a command by one word, a group and a verb, or a group, a subgroup and a verb', () => {
    for (const entry of COMMANDS) {
      if (entry.path.length > 1) expect(GROUPS, entry.path.join(' ')).toHaveProperty([entry.path[0]]);
      if (entry.path.length === 3) expect(SUBGROUPS, entry.path.join(' ')).toHaveProperty([entry.path.slice(0, 2).join(' ')]);
      expect(commandPathOf([...entry.path, 'acme', '--json'])).toEqual(entry.path);
    }
    expect(commandPathOf(['--stage', 'prod', 'tenant', 'keys', 'create', 'acme', '--name', 'erp'])).toEqual(['tenant', 'keys', 'create']);
    // A tenant called like a subgroup is an argument of its verb, not a path.
    expect(commandPathOf(['tenant', 'show', 'keys'])).toEqual(['tenant', 'show']);
    expect(commandPathOf(['tenant', 'keys'])).toEqual(['tenant', 'keys']);
  });
});
