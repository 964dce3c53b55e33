/**
 * Cetec ERP API access. Cetec authenticates with a `preshared_token` query parameter, so every URL
 * built here carries the token: such URLs are never logged, stored or returned (checkpoints keep
 * offsets only). List endpoints page with `offset` / `limit` and answer JSON arrays.
 */
export type CetecResource = 'customer' | 'order' | 'invoice';

/** URL of a Cetec list endpoint, token included; pass it to `ctx.paginate` with style `offset`. */
export function cetecListUrl(baseUrl: string, resource: CetecResource, token: string): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/goapis/api/v1/${resource}/list`);
  url.searchParams.set('preshared_token', token);
  return url.toString();
}

/** URL of one Cetec record, token included. */
export function cetecRecordUrl(baseUrl: string, resource: CetecResource, id: string | number, token: string): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/goapis/api/v1/${resource}/${encodeURIComponent(String(id))}`);
  url.searchParams.set('preshared_token', token);
  return url.toString();
}

/** A Cetec answer other than 2xx (the message never includes the URL, which holds the token). */
export class CetecError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CetecError';
    this.status = status;
  }
}

/** Fetches one record; undefined when Cetec answers 404. */
export async function fetchCetecRecord<T>(
  baseUrl: string,
  resource: CetecResource,
  id: string | number,
  token: string,
  doFetch: typeof fetch = fetch,
): Promise<T | undefined> {
  let response: Response;
  try {
    response = await doFetch(cetecRecordUrl(baseUrl, resource, id, token), { headers: { accept: 'application/json' } });
  } catch (cause) {
    throw new CetecError(`Cetec could not be reached at ${new URL(baseUrl).origin}`, 0, { cause });
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: unknown };
    throw new CetecError(typeof body.error === 'string' ? body.error : `Cetec answered ${response.status}`, response.status);
  }
  return (await response.json()) as T;
}
