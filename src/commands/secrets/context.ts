/**
 * What every `secrets` command shares: the service environment for the selected target. The AWS
 * SDK is imported only when the target is aws.
 */
import { Option, type Command } from 'commander';
import { badInput } from '../../errors.js';
import type { TenantRecord } from '../../state/registry.js';
import type { SecretBackend } from '../../secrets/backend.js';
import { localBackendFor, type SecretsEnv } from '../../secrets/service.js';
import type { CommandContext } from '../types.js';

/** The service environment; `mutating` prints the aws account, region and stage first (stderr). */
export async function secretsEnv(ctx: CommandContext, options: { mutating: boolean }): Promise<SecretsEnv> {
  const project = ctx.project();
  const state = ctx.state();
  const { globals } = ctx;
  let backendFor: (tenant: TenantRecord) => Promise<SecretBackend>;
  let publishGeneration: SecretsEnv['publishGeneration'];
  if (globals.target === 'aws') {
    const [{ AwsSecretBackend, createSecretClients }, { secretsKeyAlias }] = await Promise.all([
      import('../../targets/aws/secrets-backend.js'),
      import('../../templates/names.js'),
    ]);
    const clientOptions = {
      ...((globals.region ?? project.config.region) !== undefined ? { region: (globals.region ?? project.config.region)! } : {}),
      ...((globals.endpointUrl ?? project.config.endpointUrl) !== undefined ? { endpoint: (globals.endpointUrl ?? project.config.endpointUrl)! } : {}),
      ...((globals.profile ?? project.config.profile) !== undefined ? { profile: (globals.profile ?? project.config.profile)! } : {}),
    };
    const clients = createSecretClients(clientOptions);
    if (options.mutating) {
      const [{ STSClient }, { getCallerIdentity, describeTarget }] = await Promise.all([
        import('@aws-sdk/client-sts'),
        import('../../targets/aws/identity.js'),
      ]);
      const sts = new STSClient({ ...clientOptions, retryMode: 'adaptive' });
      const identity = await getCallerIdentity(sts);
      ctx.out.info(describeTarget(identity, await clients.ssm.config.region(), globals.stage));
    }
    publishGeneration = async (tenant, targets) => {
      const [{ DynamoDBClient }, { DynamoDBDocumentClient }, { tenantTableName }, { publishGenerationItem }] = await Promise.all([
        import('@aws-sdk/client-dynamodb'),
        import('@aws-sdk/lib-dynamodb'),
        import('../../templates/names.js'),
        import('../../targets/aws/secrets-backend.js'),
      ]);
      const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientOptions, retryMode: 'adaptive' }));
      return (await publishGenerationItem(doc, tenantTableName(tenant.stage, tenant.id), targets)).generation;
    };
    const backends = new Map<string, SecretBackend>();
    backendFor = async (tenant) => {
      let backend = backends.get(tenant.id);
      if (!backend) {
        backend = new AwsSecretBackend({ ...clients, kmsKeyId: secretsKeyAlias(tenant.stage) });
        backends.set(tenant.id, backend);
      }
      return backend;
    };
  } else {
    const backends = new Map<string, SecretBackend>();
    backendFor = async (tenant) => {
      let backend = backends.get(tenant.id);
      if (!backend) {
        backend = localBackendFor(project, tenant.id);
        backends.set(tenant.id, backend);
      }
      return backend;
    };
  }
  return {
    project, state, target: globals.target, backendFor, warn: (message) => ctx.out.warn(message),
    ...(publishGeneration ? { publishGeneration } : {}),
  };
}

/** Value-source options shared by `put` and `rotate`. */
export const VALUE_OPTIONS = {
  stdin: ['--from-stdin', 'read the value from standard input (one trailing newline is dropped)'],
  file: ['--from-file <file>', 'read the value from a file (one trailing newline is dropped)'],
  generate: ['--generate <length>', 'generate a random value of this many characters (A-Z a-z 0-9)'],
} as const;

/**
 * Refuses secret values on the command line (shell history, `ps`): extra positional arguments and
 * unknown options are refused without repeating them; only option names are shown.
 */
export function refuseValuesOnArgv(command: Command, positional: number): void {
  command
    .allowExcessArguments(true)
    .allowUnknownOption(true)
    .addOption(new Option('--value <value>', 'refused: values never travel on argv').hideHelp())
    .hook('preAction', (_parent, action) => {
      const extra = action.args.slice(positional);
      const named = action.opts<{ value?: unknown }>().value !== undefined;
      if (extra.length === 0 && !named) return;
      const options = extra.filter((arg) => arg.startsWith('-')).map((arg) => arg.split('=')[0]!);
      const unknown = options.filter((name) => name !== '--value');
      throw badInput(
        named || unknown.length < extra.length
          ? 'a secret value on the command line is refused: it would stay in shell history and process listings'
          : `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`,
        'pass the value with --from-stdin, --from-file <file> or --generate <length>',
      );
    });
}
