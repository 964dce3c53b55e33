/** Shared setup of the sync tests: both fakes and a test context wired to them. */
import { createTestContext, type TestContext } from 'sovereign-cli/testing';
import { startFakeAvalara, type FakeAvalara } from '../../../test/fakes/avalara-server.js';
import { startFakeCetec, type FakeCetecOptions, type FakeCetec } from '../../../test/fakes/cetec-server.js';
import manifest from '../extension.js';
import * as syncInvoices from '../handlers/sync-invoices.js';
import * as syncStatus from '../handlers/sync-status.js';
import * as scheduledSync from '../handlers/scheduled-sync.js';

export const CETEC_TOKEN = 'CANARY-sync-cetec-3c1f66a0';
export const AVALARA_ACCOUNT = '2000777001';
export const AVALARA_KEY = 'CANARY-sync-avalara-9d02be4f';

export interface SyncWorld {
  cetec: FakeCetec;
  avalara: FakeAvalara;
  t: TestContext;
  close(): Promise<void>;
}

export async function startSyncWorld(
  cetecOptions: Omit<FakeCetecOptions, 'token'>,
  config: Record<string, unknown> = {},
): Promise<SyncWorld> {
  const cetec = await startFakeCetec({ token: CETEC_TOKEN, ...cetecOptions });
  const avalara = await startFakeAvalara({ accountId: AVALARA_ACCOUNT, licenseKey: AVALARA_KEY });
  const t = await createTestContext({
    extension: 'avalara-cetec-sync',
    manifest,
    handlers: { 'sync-invoices': syncInvoices, 'sync-status': syncStatus, 'scheduled-sync': scheduledSync },
    secrets: { cetec_api_token: CETEC_TOKEN, avalara_account_id: AVALARA_ACCOUNT, avalara_license_key: AVALARA_KEY },
    config: { cetecBaseUrl: cetec.url, avalaraBaseUrl: avalara.url, timeBudgetMs: 0, ...config },
  });
  return {
    cetec,
    avalara,
    t,
    async close() {
      await t.close();
      await cetec.close();
      await avalara.close();
    },
  };
}

/** The tax items in the table, as stored. */
export async function taxItems(t: TestContext): Promise<Array<Record<string, any>>> {
  const all = await t.table.items();
  return all.filter((item) => String(item.pk).startsWith('avalara-cetec-sync#tax#'));
}

/** Neither secret appears in any text given nor in any log line. */
export function secretsAbsent(t: TestContext, ...texts: string[]): boolean {
  return [...texts, ...t.logs].every((text) => !text.includes(CETEC_TOKEN) && !text.includes(AVALARA_KEY));
}
