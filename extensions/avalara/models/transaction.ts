/** Shapes of the AvaTax REST v2 models this extension uses, and the zod schemas of its routes. */
import { z } from 'zod';

export const addressSchema = z.object({
  line1: z.string().min(1).optional(),
  city: z.string().min(1).optional(),
  region: z.string().min(2).max(3),
  postalCode: z.string().min(1).optional(),
  country: z.string().length(2).default('US'),
});
export type Address = z.infer<typeof addressSchema>;

export const quoteLineSchema = z.object({
  number: z.string().optional(),
  quantity: z.number().positive().default(1),
  /** Extended amount of the line (quantity × unit price). */
  amount: z.number(),
  itemCode: z.string().optional(),
  taxCode: z.string().optional(),
  description: z.string().optional(),
});

/** Body of `POST /avalara/quotes`. */
export const quoteRequestSchema = z.object({
  customerCode: z.string().min(1),
  /** Document code; a stable code makes repeated quotes of one document recognisable in AvaTax. */
  code: z.string().min(1).max(50).optional(),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD').optional(),
  exemptionNo: z.string().optional(),
  shipTo: addressSchema,
  shipFrom: addressSchema.optional(),
  lines: z.array(quoteLineSchema).min(1).max(1000),
});
export type QuoteRequest = z.infer<typeof quoteRequestSchema>;

export const quoteResponseSchema = z.object({
  code: z.string(),
  date: z.string(),
  totalAmount: z.number(),
  totalTaxable: z.number(),
  totalTax: z.number(),
  lines: z.array(z.object({ lineNumber: z.string(), lineAmount: z.number(), taxableAmount: z.number(), tax: z.number() })),
});
export type QuoteResponse = z.infer<typeof quoteResponseSchema>;

export const pingResponseSchema = z.object({
  authenticated: z.boolean(),
  authenticationType: z.string(),
  version: z.string(),
});

/** AvaTax `CreateTransactionModel` (the fields used here). */
export interface CreateTransactionModel {
  type: 'SalesOrder' | 'SalesInvoice' | 'ReturnOrder' | 'ReturnInvoice';
  companyCode: string;
  code?: string;
  date: string;
  customerCode: string;
  exemptionNo?: string;
  commit?: boolean;
  currencyCode?: string;
  addresses: { shipFrom?: Address; shipTo?: Address; singleLocation?: Address };
  lines: Array<{ number?: string; quantity?: number; amount: number; itemCode?: string; taxCode?: string; description?: string }>;
}

/** AvaTax `TransactionModel` (the fields used here). */
export interface TransactionResult {
  id: number;
  code: string;
  date: string;
  status: string;
  type: string;
  totalAmount: number;
  totalTaxable: number;
  totalExempt: number;
  totalTax: number;
  lines: Array<{ lineNumber: string; lineAmount: number; taxableAmount: number; tax: number }>;
}

/** AvaTax `PingResultModel`. */
export interface PingResult {
  version: string;
  authenticated: boolean;
  authenticationType: string;
  authenticatedAccountId?: number;
}

/** Turns a quote request into an AvaTax SalesOrder (a quote: never recorded as a sale). */
export function toSalesOrder(quote: QuoteRequest, companyCode: string, today = new Date()): CreateTransactionModel {
  return {
    type: 'SalesOrder',
    companyCode,
    ...(quote.code ? { code: quote.code } : {}),
    date: quote.date ?? today.toISOString().slice(0, 10),
    customerCode: quote.customerCode,
    ...(quote.exemptionNo ? { exemptionNo: quote.exemptionNo } : {}),
    commit: false,
    currencyCode: 'USD',
    addresses: quote.shipFrom ? { shipFrom: quote.shipFrom, shipTo: quote.shipTo } : { singleLocation: quote.shipTo },
    lines: quote.lines.map((line, i) => ({ ...line, number: line.number ?? String(i + 1) })),
  };
}

/** The part of an AvaTax transaction a quote returns. */
export function toQuoteResponse(transaction: TransactionResult): QuoteResponse {
  return {
    code: transaction.code,
    date: transaction.date,
    totalAmount: transaction.totalAmount,
    totalTaxable: transaction.totalTaxable,
    totalTax: transaction.totalTax,
    lines: transaction.lines.map((line) => ({
      lineNumber: line.lineNumber,
      lineAmount: line.lineAmount,
      taxableAmount: line.taxableAmount,
      tax: line.tax,
    })),
  };
}
