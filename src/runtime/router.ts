/** Method + path matching with `{name}` parameters, distinguishing 404 from 405 (with `Allow`). */

export interface RouteMatch<T> {
  kind: 'match';
  value: T;
  params: Record<string, string>;
}
export type RouteLookup<T> = RouteMatch<T> | { kind: 'not-found' } | { kind: 'method-not-allowed'; allow: string[] };

interface Compiled<T> {
  method: string;
  /** Segments for ordering and duplicate detection. */
  segments: Array<{ literal: string } | { param: string }>;
  /** Anchored pattern of the whole path (an optional trailing slash allowed). */
  pattern: RegExp;
  params: string[];
  value: T;
}

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export class Router<T> {
  private routes: Compiled<T>[] = [];

  /** Adds a route; `path` like `/cetec/orders/{id}`. Literal segments win over parameters. */
  add(method: string, path: string, value: T): void {
    const raw = path.split('/').filter((segment) => segment !== '');
    const segments: Compiled<T>['segments'] = raw.map((segment) => {
      const param = PARAM.exec(segment);
      return param ? { param: param[1] as string } : { literal: segment };
    });
    const upper = method.toUpperCase();
    for (const existing of this.routes) {
      if (existing.method === upper && sameShape(existing.segments, segments)) {
        throw new Error(`route ${upper} ${path} is declared twice`);
      }
    }
    const source = segments.map((s) => ('literal' in s ? `/${escapeRegExp(s.literal)}` : '/([^/]+)')).join('');
    this.routes.push({
      method: upper,
      segments,
      pattern: new RegExp(`^${source}/?$`),
      params: segments.flatMap((s) => ('param' in s ? [s.param] : [])),
      value,
    });
    // More literal segments first (earlier segments weigh more), so `/orders/latest` beats `/orders/{id}`.
    this.routes = [...this.routes].sort((a, b) => literalScore(b) - literalScore(a));
  }

  /** The route for an upper-case `method` and a path, or undefined (the hot path: one result shape). */
  match(method: string, path: string): RouteMatch<T> | undefined {
    const routes = this.routes;
    for (let r = 0; r < routes.length; r++) {
      const route = routes[r]!;
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (match === null) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < route.params.length; i++) params[route.params[i] as string] = match[i + 1] as string;
      return { kind: 'match', value: route.value, params };
    }
    return undefined;
  }

  /** Finds the route for an upper-case `method` and a path, telling 404 from 405 when none matches. */
  lookup(method: string, path: string): RouteLookup<T> {
    let allow: Set<string> | undefined;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (match === null) continue;
      if (route.method === method) {
        const params: Record<string, string> = {};
        for (let i = 0; i < route.params.length; i++) params[route.params[i] as string] = match[i + 1] as string;
        return { kind: 'match', value: route.value, params };
      }
      (allow ??= new Set()).add(route.method);
    }
    if (allow === undefined) return { kind: 'not-found' };
    return { kind: 'method-not-allowed', allow: [...allow].sort() };
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function literalScore(route: Compiled<unknown>): number {
  return route.segments.reduce((score, segment, index) => score + ('literal' in segment ? 2 ** (20 - Math.min(index, 20)) : 0), 0);
}

function sameShape(a: Compiled<unknown>['segments'], b: Compiled<unknown>['segments']): boolean {
  return a.length === b.length && a.every((s, i) => {
    const t = b[i]!;
    return 'literal' in s ? 'literal' in t && t.literal === s.literal : 'param' in t;
  });
}
