import { DEFAULT_TENANT_CLAIM, devIssuer, SCOPE } from '../../contract/auth.js';
import { badInput, UserError } from '../../errors.js';
import { requireTenant } from '../../tenants/tenants.js';
import { defineCommand, option, optional, parsedBy } from '../define.js';
import { tenantId } from '../fields.js';

/** The longest a dev token lives: it is a credential, even on loopback. */
const MAX_TTL_SECONDS = 30 * 86_400;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

const expires = parsedBy((text) => {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : NaN;
  if (seconds >= 1 && seconds <= MAX_TTL_SECONDS) return seconds;
  throw badInput(`--expires ${text} is not a duration from 1s to 30d`, 'e.g. --expires 15m, --expires 1h or --expires 7d');
});

const scopes = parsedBy((text) => {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.find((s) => !SCOPE.test(s));
  if (bad !== undefined) throw badInput(`--scopes: "${bad}" is not a scope`, 'scopes are 1–128 letters, digits or ":._/-", comma-separated (e.g. invoices:write,orders:read)');
  return list;
});

const claimValue = (flag: string) =>
  parsedBy((text) => {
    if (text.trim() === '' || text.length > 256) throw badInput(`${flag} must be 1–256 characters`);
    return text;
  });

export default defineCommand({
  description: 'Mint a token of the dev issuer that `sovereign dev` trusts, for one local tenant (printed alone on stdout)',
  examples: [
    'sovereign auth token --tenant acme',
    'sovereign auth token --tenant acme --json',
    'sovereign auth token --tenant acme --scopes invoices:write --expires 15m',
    'curl -H "authorization: Bearer $(sovereign auth token --tenant acme)" http://acme.localhost:4000/avalara/ping',
  ],
  options: {
    tenant: option('--tenant <id>', 'the local tenant the token is for (its tenant claim)', tenantId, { required: true, completes: 'tenant' }),
    scopes: option('--scopes <list>', 'comma-separated scopes the token carries (its `scope` claim)', optional(scopes)),
    expires: option('--expires <duration>', 'lifetime, 1s–30d', expires, { default: '1h' }),
    subject: option('--subject <sub>', 'the token\'s subject (`sub`)', optional(claimValue('--subject'))),
    audience: option('--audience <aud>', 'the token\'s audience (default: the first the tenant accepts)', optional(claimValue('--audience'))),
  },
  async run(ctx, input) {
    try {
      ctx.target().assertServesLocally('auth token');
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw badInput('`sovereign auth token` mints tokens of the dev issuer, which exists only under `sovereign dev` (the local target)', 'aws tenants trust the issuer configured as auth.jwt in sovereign.config.json: get tokens from it');
    }
    const project = ctx.project();
    const record = await requireTenant(ctx.state(), input.tenant);
    const [{ loadOrCreateDevIssuerKey, mintDevToken }, { tenantRuntimeConfig }] = await Promise.all([
      import('../../auth/dev-issuer.js'),
      import('../../targets/local/dev/launch.js'),
    ]);
    const auth = tenantRuntimeConfig(project, record, { dev: true }).auth!;
    const audience = input.audience ?? auth.audiences[0]!;
    if (!auth.audiences.includes(audience)) ctx.out.warn(`tenant "${record.id}" accepts the audience ${auth.audiences.map((a) => `"${a}"`).join(', ')}: the gateway will refuse this token`);
    const now = Math.floor(Date.now() / 1000);
    const token = await mintDevToken(loadOrCreateDevIssuerKey(project.paths.keys), {
      project: project.config.project,
      stage: record.stage,
      tenant: record.id,
      tenantClaim: auth.tenantClaim ?? DEFAULT_TENANT_CLAIM,
      scopes: input.scopes ?? [],
      audience,
      subject: input.subject,
      ttlSeconds: input.expires,
      now,
    });
    const result = { token, expiresAt: new Date((now + input.expires) * 1000).toISOString(), issuer: devIssuer(project.config.project, record.stage), audience, scopes: input.scopes ?? [] };
    ctx.out.result(result, () => token);
  },
});
