/**
 * One command's view of aws: the clients, the caller identity (looked up once), the region and
 * the stage, and the line printed before the first mutation.
 */
import type { Output } from '../../output/output.js';
import { createAwsClients, awsSettingsFrom, resolvedRegion, type AwsClients, type AwsSettings } from './clients.js';
import { realSleep, type Sleep } from './errors.js';
import { describeTarget, getCallerIdentity, type CallerIdentity } from './identity.js';

export interface AwsSession {
  readonly clients: AwsClients;
  /** The settings the clients were made from, for clients created later (CloudWatch). */
  readonly settings: AwsSettings;
  readonly stage: string;
  readonly project: string;
  /** The cell this session works in (`cells` in the config); undefined for the home account and region. */
  readonly cell: string | undefined;
  readonly sleep: Sleep;
  readonly now: () => number;
  identity(): Promise<CallerIdentity>;
  region(): Promise<string>;
  /** Prints account, region and stage (stderr) once; call before the first mutation. */
  announce(): Promise<{ identity: CallerIdentity; region: string }>;
}

export interface AwsSessionOptions {
  project: string;
  stage: string;
  /** Injected clients (tests); created from `globals` otherwise. */
  clients?: AwsClients;
  globals?: { region?: string | undefined; profile?: string | undefined; endpointUrl?: string | undefined };
  /** Client settings made elsewhere (a cell's: its region, assumed credentials); replace `globals`. */
  settings?: AwsSettings;
  /** How the caller identity is found, where it is known without GetCallerIdentity (an AssumeRole answer). */
  identity?: () => Promise<CallerIdentity>;
  /** The cell's name, printed with the account and region. */
  cell?: string;
  out?: Pick<Output, 'info'>;
  sleep?: Sleep;
  now?: () => number;
}

/** Targets already printed per output: one command prints its target once, however many sessions it opens. */
const announcedTo = new WeakMap<object, Set<string>>();

export function openAwsSession(options: AwsSessionOptions): AwsSession {
  const settings = options.settings ?? awsSettingsFrom(options.globals ?? {});
  const clients = options.clients ?? createAwsClients(settings);
  let identity: Promise<CallerIdentity> | undefined;
  let region: Promise<string> | undefined;
  let announced = false;
  const session: AwsSession = {
    clients,
    settings,
    stage: options.stage,
    project: options.project,
    cell: options.cell,
    sleep: options.sleep ?? realSleep,
    now: options.now ?? Date.now,
    identity() {
      identity ??= options.identity ? options.identity() : getCallerIdentity(clients.sts);
      return identity;
    },
    region() {
      region ??= resolvedRegion(clients);
      return region;
    },
    async announce() {
      const [who, where] = await Promise.all([session.identity(), session.region()]);
      if (!announced) {
        announced = true;
        const key = `${who.account}|${where}|${options.stage}|${options.cell ?? ''}`;
        const out = options.out;
        const seen = out ? (announcedTo.get(out) ?? new Set<string>()) : new Set<string>();
        if (out && !seen.has(key)) {
          seen.add(key);
          announcedTo.set(out, seen);
          out.info(describeTarget(who, where, options.stage, options.cell));
        }
      }
      return { identity: who, region: where };
    },
  };
  return session;
}
