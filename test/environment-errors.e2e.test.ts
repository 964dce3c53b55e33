/**
 * The user's environment is never "a bug in sovereign": a busy port, a missing AWS region or
 * missing credentials are named as what they are, with the fix and the exit code of SPEC.md.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentError, ExitCode } from '../src/errors.js';
import { makeProject, runCli } from './helpers/cli.js';

let dir: string;
let busy: Server;
let busyPort: number;
/** No AWS settings at all: an empty home, no profile, no instance metadata to wait for. */
const bareEnv = { HOME: mkdtempSync(join(tmpdir(), 'sovereign-home-')), AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_PROFILE: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: undefined, AWS_SHARED_CREDENTIALS_FILE: undefined };

beforeAll(async () => {
  dir = await makeProject();
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as AddressInfo).port;
}, 60_000);

afterAll(() => {
  busy.close();
});

describe('the environment is not a bug', { timeout: 60_000 }, () => {
  it('a busy port is exit 4, naming the port and --port', async () => {
    const result = await runCli(['dev', '--port', String(busyPort)], { cwd: dir });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain(`error: port ${busyPort} on 127.0.0.1 is already in use by another process`);
    expect(result.stderr).toMatch(/hint: .*--port <n>/);
    expect(result.stderr).not.toMatch(/bug/);
  });

  it('no AWS region is exit 2, naming --region, AWS_REGION and the config, for every kind of command', async () => {
    for (const args of [['tenant', 'list'], ['tenant', 'create', 'acme', '--yes'], ['bootstrap', '--yes'], ['tenant', 'status', 'acme']]) {
      const result = await runCli([...args, '--target', 'aws'], { cwd: dir, env: bareEnv });
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^error: no AWS region is set/);
      expect(result.stderr).toContain('hint: pass --region <name>, set AWS_REGION, or set "region" in sovereign.config.json');
      expect(result.stderr).not.toMatch(/bug/);
    }
  });

  it('no AWS credentials is exit 5, naming --profile', async () => {
    const result = await runCli(['tenant', 'list', '--target', 'aws', '--region', 'eu-west-1'], { cwd: dir, env: bareEnv });
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.stderr).toMatch(/^error: no usable AWS credentials/);
    expect(result.stderr).toMatch(/hint: .*--profile/);
  });

  it('a system call the machine refuses is said as such, with what to do', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(environmentError(full)).toMatchObject({ exitCode: ExitCode.failed, message: 'ENOSPC: no space left on device, write', hint: expect.stringContaining('disk is full') });
    const denied = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' });
    expect(environmentError(denied)).toMatchObject({ exitCode: ExitCode.denied });
    expect(environmentError(new TypeError('x is not a function'))).toBeUndefined();
  });
});
