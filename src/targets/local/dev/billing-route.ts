/**
 * The billing webhook as a `sovereign dev` gateway route:
 * `new DevServer({ …, routes: [billingGatewayRoute(project)] })`.
 */
import type { GatewayRoute } from './gateway.js';
import type { Project } from '../../../project.js';
import { LocalState } from '../state.js';
import { BILLING_WEBHOOK_PATH, handleBillingWebhook, MAX_WEBHOOK_BYTES, type BillingWebhookDeps } from '../../../billing/webhook.js';

export { BILLING_WEBHOOK_PATH };

export function billingGatewayRoute(project: Project, deps: Partial<BillingWebhookDeps> = {}): GatewayRoute {
  const state = new LocalState(project);
  return {
    method: 'POST',
    path: BILLING_WEBHOOK_PATH,
    maxBodyBytes: MAX_WEBHOOK_BYTES,
    handler: async (request) => {
      const answer = await handleBillingWebhook({ headers: request.headers, rawBody: request.body }, { state, project, target: 'local', ...deps });
      return { statusCode: answer.status, headers: { 'content-type': 'application/json' }, body: answer.body };
    },
  };
}
