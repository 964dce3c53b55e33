/**
 * `sovereign-cli/testing` prints no AWS-SDK notice about future Node versions, and hides no other
 * warning. Each case is a real Node process importing the built kit, without the opt-out variable
 * the repository's own test setup sets. The SDK prints the notice on Node < 22 only: the control
 * (a plain SDK client) shows it does print here, so the kit's silence is the kit's doing.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const OPT_OUT = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const NOTICE = 'NodeVersionSupportWarning';
const kit = join(repoRoot, 'dist', 'testing', 'index.js');
const noticeOnThisNode = Number(process.versions.node.split('.')[0]) < 22;

async function node(source: string, env: Record<string, string | undefined> = {}): Promise<{ stdout: string; stderr: string }> {
  const result = await execa('node', ['--input-type=module', '-e', source], { cwd: repoRoot, env: { [OPT_OUT]: undefined, ...env }, reject: false });
  expect(result.exitCode, result.stderr).toBe(0);
  return { stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe.skipIf(!noticeOnThisNode)('the test kit and the AWS SDK Node-version notice', () => {
  it('control: a plain SDK client prints the notice on this Node', async () => {
    const { stderr } = await node("const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb'); new DynamoDBClient({ region: 'us-east-1' });");
    expect(stderr).toContain(NOTICE);
  });

  it('prints no notice, still prints other warnings, and leaves the environment as it was', async () => {
    const { stdout, stderr } = await node(`
      const { startLocalTable } = await import(${JSON.stringify(kit)});
      const table = await startLocalTable();
      await table.close();
      console.log(JSON.stringify({ optOut: process.env.${OPT_OUT} ?? null }));
      process.emitWarning('a warning of the test itself');
    `);
    expect(stderr).not.toContain(NOTICE);
    expect(stderr).toContain('Warning: a warning of the test itself');
    expect(JSON.parse(stdout)).toEqual({ optOut: null });
  });

  it('leaves a user who opts in to the notice with it', async () => {
    const { stderr } = await node(`const { startLocalTable } = await import(${JSON.stringify(kit)}); await (await startLocalTable()).close();`, { [OPT_OUT]: 'false' });
    expect(stderr).toContain(NOTICE);
  });
});
