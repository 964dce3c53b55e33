/** Cetec failures as `application/problem+json` answers; URLs (which carry the token) never appear. */
import type { RouteResult } from 'sovereign-cli/runtime';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

/** Maps a Cetec failure (a `CetecError` or the runtime's pagination error) to an answer. */
export function cetecProblem(error: unknown): RouteResult<Problem> {
  const e = error as { name?: string; status?: number; upstreamStatus?: number; message?: string };
  const upstream = e.name === 'PaginationError' ? e.upstreamStatus : e.name === 'CetecError' ? e.status : undefined;
  if (e.name !== 'PaginationError' && e.name !== 'CetecError') throw error;
  const answer = (status: number, title: string, detail: string): RouteResult<Problem> => ({
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: { type: `https://sovereign.dev/problems/cetec-${status}`, title, status, detail },
  });
  if (upstream === 401 || upstream === 403) {
    return answer(502, 'Cetec refused the tenant token', "Check the tenant's cetec.api_token secret (Cetec preshared token).");
  }
  if (upstream === 429) return answer(503, 'Cetec rate limit reached', 'Cetec kept answering 429; retry later.');
  if (upstream === undefined || upstream === 0) return answer(502, 'Cetec could not be reached', 'The Cetec instance did not answer.');
  return answer(502, 'Cetec failed', `Cetec answered ${upstream}.`);
}
