/** `GET /avalara/ping`: checks that AvaTax is reachable and accepts the tenant's credentials. */
import { defineHandler } from 'sovereign-cli/runtime';
import type { AvalaraConfig } from '../models/config.js';
import { avaTaxProblem } from '../services/problems.js';
import { avaTaxClientFor } from '../services/context.js';

export const handler = defineHandler<unknown, unknown, AvalaraConfig>(async (_request, ctx) => {
  const client = await avaTaxClientFor(ctx);
  try {
    const result = await client.ping();
    ctx.metrics.count(result.authenticated ? 'PingAuthenticated' : 'PingUnauthenticated');
    if (!result.authenticated) {
      ctx.log.warn('AvaTax ping: credentials not accepted', { authenticationType: result.authenticationType });
    }
    return { authenticated: result.authenticated, authenticationType: result.authenticationType, version: result.version };
  } catch (error) {
    ctx.log.warn('AvaTax ping failed', { code: (error as { code?: string }).code });
    return avaTaxProblem(error);
  }
});
