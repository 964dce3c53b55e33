/** `GET /cetec/invoices/{id}`: one Cetec invoice. */
import { defineHandler } from 'sovereign-cli/runtime';
import type { CetecConfig } from '../models/config.js';
import type { CetecInvoice } from '../models/records.js';
import { fetchCetecRecord } from '../services/cetec-client.js';
import { cetecProblem } from '../services/problems.js';

export const handler = defineHandler<unknown, unknown, CetecConfig>(async (request, ctx) => {
  const id = request.params.id ?? '';
  if (!/^\d+$/.test(id)) {
    return { status: 400, headers: { 'content-type': 'application/problem+json' }, body: { title: 'Invoice id must be a number', status: 400 } };
  }
  const token = await ctx.secrets.get('api_token');
  try {
    const invoice = await fetchCetecRecord<CetecInvoice>(ctx.config.baseUrl, 'invoice', id, token);
    if (invoice === undefined) {
      return { status: 404, headers: { 'content-type': 'application/problem+json' }, body: { title: `Invoice ${id} not found`, status: 404 } };
    }
    return invoice;
  } catch (error) {
    ctx.log.warn('Cetec invoice fetch failed', { error: (error as Error).message });
    return cetecProblem(error);
  }
});
