/** `POST /avalara/quotes`: a tax quote, computed by AvaTax as a SalesOrder (never recorded as a sale). */
import { defineHandler } from 'sovereign-cli/runtime';
import type { AvalaraConfig } from '../models/config.js';
import { toQuoteResponse, toSalesOrder, type QuoteRequest } from '../models/transaction.js';
import { avaTaxProblem } from '../services/problems.js';
import { avaTaxClientFor } from '../services/context.js';

export const handler = defineHandler<QuoteRequest, unknown, AvalaraConfig>(async (request, ctx) => {
  const client = await avaTaxClientFor(ctx);
  try {
    const transaction = await client.createTransaction(toSalesOrder(request.body, ctx.config.companyCode));
    ctx.metrics.count('QuotesCreated');
    return toQuoteResponse(transaction);
  } catch (error) {
    ctx.metrics.count('QuotesFailed');
    ctx.log.warn('AvaTax quote failed', { code: (error as { code?: string }).code, status: (error as { status?: number }).status });
    return avaTaxProblem(error);
  }
});
