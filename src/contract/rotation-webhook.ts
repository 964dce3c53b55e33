/**
 * Where a tenant's runtime takes signed rotation notices: the runtime serves it, the CLI sends to
 * it, and the dev gateway gives it the webhook's smaller body limit and its replay memory.
 */
export const ROTATION_WEBHOOK_PATH = '/_sovereign/webhooks/rotation';
