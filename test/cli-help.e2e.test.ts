/**
 * Help that helps: the bare command, a bare group and `help [command…]` print their help on
 * stdout and succeed; a group's help lists its commands with their arguments; `--version --json`
 * is JSON. A mistyped command stays a usage error (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('help', () => {
  it('prints the program\'s help for a bare `sovereign` and `sovereign help`, exit 0, nothing on stderr', async () => {
    for (const args of [[], ['help'], ['--help']]) {
      const result = await runCli(args);
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: sovereign \[options\] \[command\]/);
      expect(result.stdout).toContain('tenant');
      expect(result.stderr).toBe('');
    }
  });

  it('prints a group\'s help with its commands and their arguments, bare or through help, at any depth', async () => {
    for (const args of [['tenant'], ['help', 'tenant'], ['tenant', '--help']]) {
      const result = await runCli(args);
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: sovereign tenant \[options\] \[command\]/);
      expect(result.stdout).toMatch(/^ {2}create \[options\] <id> /m);
      expect(result.stdout).toMatch(/^ {2}deploy \[options\] \[id\.\.\.\] /m);
      expect(result.stderr).toBe('');
    }
    for (const group of ['ext', 'secrets', 'audit', 'template', 'verify', 'auth']) {
      const result = await runCli([group]);
      expect(result.exitCode, group).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: sovereign ${group} `));
    }
    const keys = await runCli(['tenant', 'keys']);
    expect(keys.exitCode).toBe(0);
    expect(keys.stdout).toMatch(/^ {2}revoke <id> <name> /m);
    const verb = await runCli(['help', 'tenant', 'create']);
    expect(verb.exitCode).toBe(0);
    expect(verb.stdout).toMatch(/^Usage: sovereign tenant create \[options\] <id>/);
  });

  it('prints the version as JSON with --json', async () => {
    const plain = await runCli(['--version']);
    expect(plain.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const json = await runCli(['--version', '--json']);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ version: plain.stdout.trim() });
  });

  it('keeps a mistyped command or option a usage error', async () => {
    const command = await runCli(['tenant', 'nope']);
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toMatch(/^error: unknown command 'nope'/);
    expect(command.stdout).toBe('');
    const option = await runCli(['--bogus']);
    expect(option.exitCode).toBe(2);
    expect(option.stderr).toMatch(/^error: unknown option '--bogus'/);
  });
});
