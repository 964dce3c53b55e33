/** Method + path matching with `{name}` parameters, distinguishing 404 from 405 (with `Allow`). */

export interface RouteMatch<T> {
  kind: 'match';
  value: T;
  params: Record<string, string>;
}
export type RouteLookup<T> = RouteMatch<T> | { kind: 'not-found' } | { kind: 'method-not-allowed'; allow: string[] };

interface Compiled<T> {
  method: string;
  segments: Array<{ literal: string } | { param: string }>;
  value: T;
}

export class Router<T> {
  private readonly routes: Compiled<T>[] = [];
  /** Routes by segment count, in match order. */
  private readonly bySize = new Map<number, Compiled<T>[]>();

  /** Adds a route; `path` like `/cetec/orders/{id}`. Literal segments win over parameters. */
  add(method: string, path: string, value: T): void {
    const segments = splitPath(path).map((segment) => {
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment);
      return param ? { param: param[1] as string } : { literal: segment };
    });
    for (const existing of this.routes) {
      if (existing.method === method.toUpperCase() && sameShape(existing.segments, segments)) {
        throw new Error(`route ${method.toUpperCase()} ${path} is declared twice`);
      }
    }
    this.routes.push({ method: method.toUpperCase(), segments, value });
    // More literal segments first, so `/orders/latest` beats `/orders/{id}`.
    this.routes.sort((a, b) => literalScore(b) - literalScore(a));
    this.bySize.clear();
    for (const route of this.routes) {
      const list = this.bySize.get(route.segments.length) ?? [];
      list.push(route);
      this.bySize.set(route.segments.length, list);
    }
  }

  /** Finds the route for an upper-case `method` and a path. */
  lookup(method: string, path: string): RouteLookup<T> {
    const parts = splitPath(path);
    const candidates = this.bySize.get(parts.length);
    if (candidates === undefined) return { kind: 'not-found' };
    let allow: Set<string> | undefined;
    for (const route of candidates) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      if (route.method === method) return { kind: 'match', value: route.value, params };
      (allow ??= new Set()).add(route.method);
    }
    if (allow === undefined) return { kind: 'not-found' };
    return { kind: 'method-not-allowed', allow: [...allow].sort() };
  }
}

function splitPath(path: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47 /* / */) {
      if (i > start) parts.push(path.slice(start, i));
      start = i + 1;
    }
  }
  return parts;
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

function matchSegments(segments: Compiled<unknown>['segments'], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
    } else {
      params[segment.param] = part;
    }
  }
  return params;
}
