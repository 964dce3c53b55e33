/** Cetec ERP records as its API returns them (the fields used here), and the list route schemas. */
import { z } from 'zod';

export const addressSchema = z.object({
  address1: z.string(),
  city: z.string(),
  state: z.string(),
  zip: z.string(),
  country: z.string(),
});

export const lineSchema = z.object({
  line_number: z.number(),
  prcpart: z.string(),
  description: z.string(),
  qty: z.number(),
  unit_price: z.number(),
});

export const customerSchema = z.object({
  id: z.number(),
  name: z.string(),
  external_key: z.string(),
  tax_exempt: z.boolean(),
  ship_to: addressSchema,
});
export type CetecCustomer = z.infer<typeof customerSchema>;

export const orderSchema = z.object({
  id: z.number(),
  ordernum: z.string(),
  customer_id: z.number(),
  order_date: z.string(),
  status: z.string(),
  lines: z.array(lineSchema),
});
export type CetecOrder = z.infer<typeof orderSchema>;

export const invoiceSchema = z.object({
  id: z.number(),
  invoice_number: z.string(),
  ordernum: z.string(),
  customer_id: z.number(),
  customer_name: z.string(),
  invoice_date: z.string(),
  ship_to: addressSchema,
  lines: z.array(lineSchema),
  total: z.number(),
});
export type CetecInvoice = z.infer<typeof invoiceSchema>;

/** Query of the list routes: `?offset=0&limit=100`. */
export const listQuerySchema = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

/** A page of a list route; `nextOffset` is null on the last page. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), offset: z.number(), limit: z.number(), nextOffset: z.number().nullable() });
