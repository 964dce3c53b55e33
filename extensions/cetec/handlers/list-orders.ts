/** `GET /cetec/orders?offset=&limit=`: one page of Cetec orders. */
import { defineHandler } from 'sovereign-cli/runtime';
import type { CetecConfig } from '../models/config.js';
import { listQuerySchema } from '../models/records.js';
import { cetecProblem } from '../services/problems.js';
import { listPage } from '../services/list.js';

export const handler = defineHandler<unknown, unknown, CetecConfig>(async (request, ctx) => {
  const query = listQuerySchema.parse(request.query);
  try {
    return await listPage(ctx, 'order', query);
  } catch (error) {
    ctx.log.warn('Cetec list failed', { resource: 'order', error: (error as Error).message });
    return cetecProblem(error);
  }
});
