/**
 * Cells: the accounts and regions a project's tenants are placed in. The control plane (registry,
 * audit log, lock) stays in the home account and region, which the global options and the SDK's
 * chain resolve; a tenant whose record names a cell is worked on through that cell's session.
 *
 * A cell's session holds credentials from STS AssumeRole of the cell's deploy role (with its
 * ExternalId), made with the home credentials, and every client of the session signs with them in
 * the cell's region: nothing in a cell is reached with the home credentials, and nothing of one
 * cell with another's. The credentials are assumed once per cell for the command and assumed again
 * before they expire (the SDK asks the provider again when they come near their expiration).
 *
 * Two guarantees come from the tenant record, not the config file: the record keeps the cell's
 * account and region as placement found them, and `sessionForRecord` refuses when the config now
 * puts that cell name elsewhere (someone with write access to the project folder pointing a cell
 * at another account), and refuses an AssumeRole answer for an account other than the cell's.
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { Cell, ProjectConfig } from '../../config.js';
import { ok, problem, type DoctorCheck } from '../../doctor/check.js';
import { badInput, ExitCode, UserError } from '../../errors.js';
import type { Output } from '../../output/output.js';
import type { TenantRecord } from '../../state/registry.js';
import { createAwsClients, type AwsClients, type AwsCredentials, type AwsSettings } from './clients.js';
import { explainAwsError } from './errors.js';
import type { CallerIdentity } from './identity.js';
import { openAwsSession, type AwsSession } from './session.js';

/** Where a tenant lives, as its record keeps it. */
export interface CellRef {
  name: string;
  account: string;
  region: string;
}

export function cellRefOf(cell: Cell): CellRef {
  return { name: cell.name, account: cell.account, region: cell.region };
}

/** Assumed credentials are renewed this long before they expire. */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** An hour: the longest a role chained from another role's session may ask for. */
const DURATION_SECONDS = 3600;

/** `sovereign-<project>-<command>` within AssumeRole's RoleSessionName rules (2–64 of `[\w+=,.@-]`). */
export function roleSessionName(project: string, command: string): string {
  return `sovereign-${project}-${command}`.replace(/[^\w+=,.@-]+/g, '-').slice(0, 64);
}

interface Assumed {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date };
  identity: CallerIdentity;
}

/** The account of an STS assumed-role ARN (`arn:aws:sts::123456789012:assumed-role/…`). */
function accountOf(arn: string): string | undefined {
  return /^arn:aws[\w-]*:sts::(\d{12}):assumed-role\//.exec(arn)?.[1];
}

/**
 * The cell's credentials: AssumeRole on first use, again when the last answer is within
 * {@link REFRESH_BEFORE_MS} of expiring; concurrent callers share one call.
 */
export function assumedRoleCredentials(
  sts: STSClient,
  cell: Pick<Cell, 'name' | 'account' | 'deployRoleArn' | 'externalId'>,
  sessionName: string,
  now: () => number = Date.now,
): { credentials: AwsCredentials; identity: () => Promise<CallerIdentity> } {
  let current: Promise<Assumed> | undefined;
  const assume = async (): Promise<Assumed> => {
    let answer;
    try {
      answer = await sts.send(
        new AssumeRoleCommand({ RoleArn: cell.deployRoleArn, RoleSessionName: sessionName, DurationSeconds: DURATION_SECONDS, ...(cell.externalId ? { ExternalId: cell.externalId } : {}) }),
      );
    } catch (error) {
      throw explainAwsError(error, `assuming ${cell.deployRoleArn}, the deploy role of cell ${cell.name} (sts:AssumeRole)`);
    }
    const c = answer.Credentials;
    const arn = answer.AssumedRoleUser?.Arn;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration || !arn) throw new Error(`sts:AssumeRole of ${cell.deployRoleArn} answered without credentials`);
    const account = accountOf(arn);
    // The role ARN is checked against the cell's account in the config; the answer must agree with it.
    if (account !== cell.account) {
      throw new UserError(`the deploy role of cell ${cell.name} answered as ${arn}, not in the cell's account ${cell.account}`, {
        exitCode: ExitCode.denied,
        hint: 'check the endpoint and the role: nothing was sent to the cell',
      });
    }
    return {
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) },
      identity: { account, arn, userId: answer.AssumedRoleUser?.AssumedRoleId ?? '' },
    };
  };
  const fresh = async (): Promise<Assumed> => {
    if (current !== undefined) {
      const held = await current.catch(() => undefined);
      if (held && held.credentials.expiration.getTime() - now() > REFRESH_BEFORE_MS) return held;
    }
    const next = assume();
    current = next;
    next.catch(() => {
      if (current === next) current = undefined;
    });
    return next;
  };
  return {
    credentials: async () => (await fresh()).credentials,
    identity: async () => (await fresh()).identity,
  };
}

export interface CellSessionOptions {
  home: AwsSession;
  cell: Cell;
  /** Names the role session (`sovereign-<project>-<command>`), for the cell's CloudTrail. */
  command: string;
  out?: Pick<Output, 'info'>;
  /** Injected clients (tests); created from the cell's settings otherwise. */
  clients?: AwsClients;
}

/** A session in `cell`: its region, the home endpoint, credentials of its assumed deploy role. */
export function openCellSession(options: CellSessionOptions): AwsSession {
  const { home, cell } = options;
  const assumed = assumedRoleCredentials(home.clients.sts, cell, roleSessionName(home.project, options.command), home.now);
  const settings: AwsSettings = { region: cell.region, endpoint: home.settings.endpoint, maxAttempts: home.settings.maxAttempts, credentials: assumed.credentials };
  return openAwsSession({
    project: home.project,
    stage: home.stage,
    settings,
    clients: options.clients ?? createAwsClients(settings),
    identity: assumed.identity,
    cell: cell.name,
    sleep: home.sleep,
    now: home.now,
    ...(options.out ? { out: options.out } : {}),
  });
}

/** The declared cell called `name`, or a refusal naming the declared ones. */
export function requireCell(config: Pick<ProjectConfig, 'cells'>, name: string): Cell {
  const cells = config.cells ?? [];
  const cell = cells.find((c) => c.name === name);
  if (cell) return cell;
  throw badInput(
    cells.length === 0 ? `cell "${name}" is not declared: the project has no cells` : `cell "${name}" is not declared`,
    cells.length === 0 ? 'declare cells under "cells" in sovereign.config.json (docs/aws.md, "Cells")' : `declared cells: ${cells.map((c) => c.name).join(', ')}`,
  );
}

/**
 * The one way to a tenant's session: the home session for a tenant without a cell, else its
 * cell's, opened once per cell for the command. The config must still put the cell where the
 * record says it is.
 */
export function cellSessions(options: { config: () => Pick<ProjectConfig, 'cells'>; home: () => AwsSession; out?: Pick<Output, 'info'> }): {
  sessionForRecord(record: Pick<TenantRecord, 'id' | 'cell'>, command: string): AwsSession;
  sessionForCell(cell: Cell, command: string): AwsSession;
} {
  const opened = new Map<string, AwsSession>();
  const sessionForCell = (cell: Cell, command: string): AwsSession => {
    let session = opened.get(cell.name);
    if (!session) {
      session = openCellSession({ home: options.home(), cell, command, ...(options.out ? { out: options.out } : {}) });
      opened.set(cell.name, session);
    }
    return session;
  };
  return {
    sessionForCell,
    sessionForRecord(record, command) {
      if (!record.cell) return options.home();
      const recorded = record.cell;
      const cell = (options.config().cells ?? []).find((c) => c.name === recorded.name);
      if (!cell) {
        throw badInput(`tenant "${record.id}" lives in cell ${recorded.name} (account ${recorded.account}, region ${recorded.region}), which sovereign.config.json no longer declares`, `declare cell ${recorded.name} again under "cells"`);
      }
      if (cell.account !== recorded.account || cell.region !== recorded.region) {
        throw badInput(
          `cell ${cell.name} is declared in account ${cell.account}, region ${cell.region}, but tenant "${record.id}" lives in account ${recorded.account}, region ${recorded.region}`,
          'a cell keeps its account and region; declare a new cell for another place (moving tenants between cells is not supported yet)',
        );
      }
      return sessionForCell(cell, command);
    },
  };
}

/**
 * `sovereign doctor`'s check of each cell: its deploy role can be assumed (with its ExternalId)
 * and answers in the cell's account. Only STS is called.
 */
export async function checkCells(cells: Cell[], sessionFor: (cell: Cell) => AwsSession): Promise<DoctorCheck[]> {
  return Promise.all(
    cells.map(async (cell): Promise<DoctorCheck> => {
      try {
        const identity = await sessionFor(cell).identity();
        return ok(`aws-cell-${cell.name}`, `cell ${cell.name}: account ${identity.account}, region ${cell.region}, as ${identity.arn}`);
      } catch (error) {
        const explained = error instanceof UserError ? error : undefined;
        return problem(
          `aws-cell-${cell.name}`,
          'fail',
          `cell ${cell.name}: ${explained?.message ?? (error as Error).message}`,
          explained?.hint ?? `check that ${cell.deployRoleArn} trusts the home account's credentials${cell.externalId ? ' with this ExternalId' : ''}`,
          'aws',
        );
      }
    }),
  );
}
