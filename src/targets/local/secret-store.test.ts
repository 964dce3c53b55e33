import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReferenceOrThrow } from '../../contract/reference.js';
import { loadProject } from '../../project.js';
import { createTenant } from '../../tenants/tenants.js';
import { localBackendFor } from './secret-store.js';
import { LocalState } from './state.js';
import { tenantVaultPath } from './paths.js';

const ref = parseReferenceOrThrow('secretsmanager:dev/tenants/acme/avalara:license_key');

async function makeStoreProject() {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-store-')), 'proj');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'proj' }));
  const loaded = await loadProject(dir);
  const state = new LocalState(loaded);
  await createTenant(state, 'dev', { id: 'acme', tier: 'basic', extensions: [] });
  return { project: loaded, state };
}

function events(path: string): Array<{ action: string; outcome: string }> {
  return readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; outcome: string });
}

describe('the local secret store inside a mutation', () => {
  it('stages vault writes: the file changes only with the mutation\'s successful event', async () => {
    const { project, state } = await makeStoreProject();
    const store = localBackendFor(project, 'acme');
    const vault = tenantVaultPath(project, 'acme');
    const before = readFileSync(vault);
    await state.mutate({ command: 'test', action: 'secret.put', tenant: 'acme' }, async () => {
      await store.putVersion(ref, 'v1', { by: 'test' });
      // The mutation reads its own write; the file is untouched until the commit.
      expect(await store.readValue(ref)).toBe('v1');
      expect(readFileSync(vault)).toEqual(before);
      await store.putVersion(ref, 'v2', { by: 'test' });
    });
    expect(readFileSync(vault)).not.toEqual(before);
    expect(await localBackendFor(project, 'acme').readValue(ref)).toBe('v2');
    expect((await store.history(ref)).map((v) => v.labels)).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);
  });

  it('drops the staged vault when the mutation fails: its failure event, and the old vault', async () => {
    const { project, state } = await makeStoreProject();
    const store = localBackendFor(project, 'acme');
    const vault = tenantVaultPath(project, 'acme');
    const before = readFileSync(vault);
    await expect(state.mutate({ command: 'test', action: 'secret.put', tenant: 'acme' }, async () => {
      await store.putVersion(ref, 'never-lands', { by: 'test' });
      throw new Error('the backend went away');
    })).rejects.toThrow(/went away/);
    expect(readFileSync(vault)).toEqual(before);
    await expect(store.readValue(ref)).rejects.toThrow(/not/);
    expect(events(project.paths.auditLog).at(-1)).toMatchObject({ action: 'secret.put', outcome: 'failure' });
  });

  it('writes the file directly outside any mutation (and a mutation of another project does not capture it)', async () => {
    const one = await makeStoreProject();
    const other = await makeStoreProject();
    const store = localBackendFor(one.project, 'acme');
    const before = readFileSync(tenantVaultPath(one.project, 'acme'));
    await other.state.mutate({ command: 'test', action: 'other', tenant: null }, async () => {
      await store.putVersion(ref, 'direct', { by: 'test' });
    });
    expect(readFileSync(tenantVaultPath(one.project, 'acme'))).not.toEqual(before);
    expect(await localBackendFor(one.project, 'acme').readValue(ref)).toBe('direct');
  });
});
