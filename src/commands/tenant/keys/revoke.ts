import { revokeApiKey, parseKeyName } from '../../../tenants/api-keys.js';
import { arg, defineCommand, parsedBy } from '../../define.js';
import { idArgument } from '../../fields.js';
import { keysEnv } from './env.js';

export default defineCommand({
  examples: ['sovereign tenant keys revoke acme erp', 'sovereign tenant keys revoke acme erp --json'],
  description: 'Revoke an API key: its record is removed and running tenants refuse it within about a second. Asks nothing: revoking only takes access away.',
  arguments: { id: idArgument, name: arg('<name>', 'the key\'s name (see `sovereign tenant keys list <id>`)', parsedBy(parseKeyName)) },
  async run(ctx, { id, name }) {
    const { tenant, view } = await revokeApiKey(await keysEnv(ctx), { tenant: id, name });
    ctx.out.result({ tenant, revoked: view }, () => `Revoked API key ${view.name} (${view.id}, scopes ${view.scopes.join(', ') || 'none'}) of tenant ${tenant}: its runtime refuses it within about a second.`);
  },
});
