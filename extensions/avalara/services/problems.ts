/**
 * AvaTax failures as `application/problem+json` answers. Messages come from AvaTax or from this
 * file; credentials never reach them.
 */
import type { RouteResult } from 'sovereign-cli/runtime';
import { AvaTaxError } from './avatax-client.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  avalaraCode?: string;
  errors?: Array<{ code?: string; message?: string; description?: string }>;
}

function problem(status: number, body: Problem, headers: Record<string, string> = {}): RouteResult<Problem> {
  return { status, headers: { 'content-type': 'application/problem+json', ...headers }, body };
}

/** Maps an AvaTax error to the answer the caller of this extension gets. */
export function avaTaxProblem(error: unknown): RouteResult<Problem> {
  if (!(error instanceof AvaTaxError)) throw error;
  const errors = error.details.map(({ code, message, description }) => ({ code, message, description }));
  if (error.status === 0) {
    return problem(502, {
      type: 'https://sovereign.dev/problems/avalara-unreachable',
      title: 'AvaTax could not be reached',
      status: 502,
      detail: error.message,
      avalaraCode: error.code,
    });
  }
  if (error.status === 401 || error.status === 403) {
    return problem(502, {
      type: 'https://sovereign.dev/problems/avalara-credentials',
      title: 'AvaTax refused the tenant credentials',
      status: 502,
      detail: `${error.message} Check the tenant's avalara.account_id and avalara.license_key secrets.`,
      avalaraCode: error.code,
      errors,
    });
  }
  if (error.status === 429) {
    const retry = error.retryAfterSeconds ?? 1;
    return problem(
      503,
      {
        type: 'https://sovereign.dev/problems/avalara-rate-limited',
        title: 'AvaTax rate limit reached',
        status: 503,
        detail: `AvaTax kept answering 429; retry after ${retry} s.`,
        avalaraCode: error.code,
      },
      { 'retry-after': String(retry) },
    );
  }
  if (error.status >= 400 && error.status < 500) {
    return problem(422, {
      type: 'https://sovereign.dev/problems/avalara-rejected',
      title: 'AvaTax rejected the transaction',
      status: 422,
      detail: error.message,
      avalaraCode: error.code,
      errors,
    });
  }
  return problem(502, {
    type: 'https://sovereign.dev/problems/avalara-failed',
    title: 'AvaTax failed',
    status: 502,
    detail: error.message,
    avalaraCode: error.code,
  });
}
