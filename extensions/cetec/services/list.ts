/** One page of a Cetec list endpoint, walked with the runtime's paginator (retries, Retry-After). */
import type { RouteContext } from 'sovereign-cli/runtime';
import type { CetecConfig } from '../models/config.js';
import type { ListQuery } from '../models/records.js';
import { cetecListUrl, type CetecResource } from './cetec-client.js';

export interface Page<T> {
  items: T[];
  offset: number;
  limit: number;
  nextOffset: number | null;
}

export async function listPage<T>(ctx: RouteContext<CetecConfig>, resource: CetecResource, query: ListQuery): Promise<Page<T>> {
  const token = await ctx.secrets.get('api_token');
  const items: T[] = [];
  for await (const item of ctx.paginate<T>({
    url: cetecListUrl(ctx.config.baseUrl, resource, token),
    style: 'offset',
    pageSize: query.limit,
    from: { kind: 'offset', offset: query.offset },
    items: (body) => (Array.isArray(body) ? (body as T[]) : []),
  })) {
    items.push(item);
    if (items.length >= query.limit) break;
  }
  return {
    items,
    offset: query.offset,
    limit: query.limit,
    nextOffset: items.length < query.limit ? null : query.offset + items.length,
  };
}
