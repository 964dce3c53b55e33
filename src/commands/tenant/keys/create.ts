import { createApiKey, parseExpiry, parseKeyName, parseScopes } from '../../../tenants/api-keys.js';
import { defineCommand, option, optional, parsedBy, schema } from '../../define.js';
import { idArgument } from '../../fields.js';
import { keysEnv, timeText } from './env.js';

/** The values of every `--scopes` given (none: `[]`), checked without loading zod; `parseScopes` reads them. */
const scopeFlags = Object.assign(schema((z) => z.array(z.string()).default([])), {
  plain: (value: unknown) => (value === undefined ? { value: [] } : Array.isArray(value) && value.every((v) => typeof v === 'string') ? { value } : undefined),
});

export default defineCommand({
  examples: [
    'sovereign tenant keys create acme --name erp --scopes invoices:read,invoices:write --expires 90d',
    'sovereign tenant keys create acme --name nightly-sync --scopes sync:run --json | jq -r .key',
  ],
  description: 'Create an API key for a machine client of the tenant. The key is printed once, on stdout; only its SHA-256 is stored.',
  arguments: { id: idArgument },
  options: {
    name: option('--name <name>', 'the key\'s name, unique among the tenant\'s keys (a-z, 0-9, "-")', parsedBy(parseKeyName), { required: true }),
    scopes: option('--scopes <scopes>', 'comma-separated scopes the key carries (repeatable); routes with scopes need one of them', scopeFlags, { repeatable: true }),
    expires: option('--expires <duration>', 'how long the key is valid: 30m, 12h, 90d (default: it does not expire)', optional(parsedBy(parseExpiry))),
  },
  refine: ({ id, name, scopes, expires }) => ({ id, name, scopes: parseScopes(scopes), expires }),
  async run(ctx, { id, name, scopes, expires }) {
    const created = await createApiKey(await keysEnv(ctx), { tenant: id, name, scopes, ...(expires === undefined ? {} : { expiresInMs: expires }) });
    const { view } = created;
    ctx.out.info(`Created API key ${view.name} (${view.id}) for tenant ${created.tenant}: scopes ${view.scopes.join(', ') || 'none'}, expires ${timeText(view.expiresAt, 'never')}.`);
    ctx.out.warn('the key is shown only now: store it where its client reads it; sovereign keeps only its hash and cannot show it again');
    ctx.out.result({ tenant: created.tenant, key: created.key, apiKey: view }, () => created.key);
  },
});
