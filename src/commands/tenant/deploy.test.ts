import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from '../../output/output.js';
import type { FleetReportJson } from '../../fleet/report.js';
import type { TenantRecord } from '../../state/registry.js';
import type { Target } from '../../targets/target.js';
import type { CommandContext } from '../types.js';
import { parseArgv } from '../define.js';
import deploy from './deploy.js';

describe('tenant deploy: parsing', () => {
  it('reads ids, --all, waves in order, the shard and the numbers', async () => {
    expect(await parseArgv(deploy, [])).toEqual({ ids: [], all: false, concurrency: 10, waves: [], shard: undefined, cells: [], maxFailures: undefined });
    expect(await parseArgv(deploy, ['--all', '--cell', 'eu-1', '--cell', 'us-1,home'])).toMatchObject({ cells: ['eu-1', 'us-1,home'] });
    expect(await parseArgv(deploy, ['acme', 'globex', '--concurrency', '20'])).toMatchObject({ ids: ['acme', 'globex'], concurrency: 20 });
    expect(await parseArgv(deploy, ['--wave', 'acme', '--wave', 'globex,initech', '--wave', 'rest', '--max-failures', '0', '--shard', '2/4'])).toMatchObject({
      waves: ['acme', 'globex,initech', 'rest'],
      maxFailures: 0,
      shard: '2/4',
    });
  });

  it('refuses a concurrency below 1 and a count that is not a whole number, with exit 2', async () => {
    await expect(parseArgv(deploy, ['--all', '--concurrency', '0'])).rejects.toMatchObject({ exitCode: 2, message: '--concurrency 0 is not a whole number ≥ 1' });
    await expect(parseArgv(deploy, ['--all', '--max-failures', '1.5'])).rejects.toMatchObject({ exitCode: 2, message: '--max-failures 1.5 is not a whole number ≥ 0' });
  });
});

/**
 * The command's own planning and running, with a target that places tenants in cells: what
 * `tenant deploy` deploys, and what it prints, once a target defines `cellOf`.
 */
describe('tenant deploy: cells', () => {
  const cellOfId: Record<string, string | undefined> = { acme: 'eu-1', globex: 'eu-1', initech: 'eu-2', umbrella: 'us-1', hooli: 'us-1', stark: undefined };

  async function deployWith(argv: string[], options: { cells?: boolean; fail?: string } = {}) {
    const records = Object.keys(cellOfId).map((id) => ({ id, extensions: [] }) as unknown as TenantRecord);
    const deployed: string[] = [];
    const target = {
      name: 'aws',
      checkDeployPlan: () => undefined,
      deployer: async () => async (id: string) => {
        deployed.push(id);
        await new Promise((r) => setTimeout(r, 1));
        if (id === options.fail) throw new Error('canary broke');
        return { artifact: 'a'.repeat(64) };
      },
      ...(options.cells === false ? {} : { cellOf: (record: TenantRecord) => cellOfId[record.id] }),
    } as unknown as Target;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let printed = '';
    let info = '';
    stdout.on('data', (chunk) => (printed += chunk));
    stderr.on('data', (chunk) => (info += chunk));
    const ctx = {
      globals: { stage: 'prod', json: true },
      out: new Output({ json: true, color: false, verbose: false, interactive: false, stdout, stderr }),
      project: () => ({ config: {}, paths: { extensions: mkdtempSync(join(tmpdir(), 'sovereign-deploy-cells-')), config: 'sovereign.config.json' } }),
      state: () => ({ listTenants: async () => records }),
      target: () => target,
    } as unknown as CommandContext;
    let error: unknown;
    try {
      await deploy.run(ctx, await parseArgv(deploy, [...argv]));
    } catch (e) {
      error = e;
    }
    return { deployed, error, info, json: printed ? (JSON.parse(printed) as FleetReportJson) : undefined };
  }

  it('deploys only the cells --cell names, and reports each', async () => {
    const { deployed, json, info, error } = await deployWith(['--all', '--cell', 'eu-1,us-1']);
    expect(error).toBeUndefined();
    expect(deployed.sort()).toEqual(['acme', 'globex', 'hooli', 'umbrella']);
    expect(json!.cells!.map((c) => [c.name, c.ok])).toEqual([
      ['eu-1', 2],
      ['us-1', 2],
    ]);
    expect(info).toContain('2 cell(s) side by side (eu-1, us-1), concurrency 10 per cell');
  });

  it('refuses a cell no tenant is in with exit 3, deploying nothing', async () => {
    const { deployed, error } = await deployWith(['--all', '--cell', 'ap-1']);
    expect(error).toMatchObject({ exitCode: 3, hint: 'cells with tenants: eu-1, eu-2, home, us-1' });
    expect(deployed).toEqual([]);
  });

  it('splits shards by whole cells, every tenant in one shard', async () => {
    const shards = await Promise.all([1, 2, 3].map((i) => deployWith(['--all', '--shard', `${i}/3`])));
    expect(shards.flatMap((s) => s.deployed).sort()).toEqual(Object.keys(cellOfId).sort());
    for (const shard of shards) {
      const cells = new Set(shard.deployed.map((id) => cellOfId[id] ?? 'home'));
      for (const other of shards.filter((s) => s !== shard)) for (const id of other.deployed) expect(cells.has(cellOfId[id] ?? 'home')).toBe(false);
    }
  });

  it('goes on in the other cells when one cell\'s canary fails, and exits 1', async () => {
    const { deployed, json, error } = await deployWith(['--wave', 'acme,initech,umbrella', '--wave', 'rest'], { fail: 'acme' });
    expect(error).toMatchObject({ exitCode: 1, message: '1 tenant(s) failed and 1 were skipped of 6' });
    // eu-1's canary failed, so its rest (globex) did not start; every other cell deployed its rest.
    expect(deployed.sort()).toEqual(['acme', 'hooli', 'initech', 'stark', 'umbrella']);
    expect(json!.cells!.find((c) => c.name === 'eu-1')).toMatchObject({ failed: 1, skipped: 1, stopped: 'earlier-wave-failed' });
    expect(json!.tenants.find((t) => t.tenant === 'hooli')).toMatchObject({ cell: 'us-1', wave: 2, outcome: 'ok' });
  });

  it('plans as one pool when the target has no cells', async () => {
    const { deployed, json } = await deployWith(['--all', '--shard', '1/1'], { cells: false });
    expect(deployed.sort()).toEqual(Object.keys(cellOfId).sort());
    expect(json!.cells).toBeNull();
    expect((await deployWith(['--all', '--cell', 'eu-1'], { cells: false })).error).toMatchObject({ exitCode: 3, hint: 'cells with tenants: home' });
  });
});
