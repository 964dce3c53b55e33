import { describe, expect, it } from 'vitest';
import { Router } from './router.js';

describe('Router', () => {
  const router = new Router<string>();
  router.add('GET', '/orders/{id}', 'get-order');
  router.add('DELETE', '/orders/{id}', 'delete-order');
  router.add('GET', '/orders/latest', 'latest');
  router.add('GET', '/orders/{id}/lines/{line}', 'line');
  router.add('post', '/a.b/{x}', 'dotted');

  it('matches methods and parameters, literal segments first', () => {
    expect(router.lookup('GET', '/orders/42')).toEqual({ kind: 'match', value: 'get-order', params: { id: '42' } });
    expect(router.lookup('GET', '/orders/latest')).toEqual({ kind: 'match', value: 'latest', params: {} });
    expect(router.lookup('GET', '/orders/7/lines/3/')).toEqual({ kind: 'match', value: 'line', params: { id: '7', line: '3' } });
    expect(router.lookup('POST', '/a.b/1')).toMatchObject({ kind: 'match', value: 'dotted' });
  });

  it('match() agrees with lookup() on every match and is undefined otherwise', () => {
    for (const [method, path] of [['GET', '/orders/42'], ['GET', '/orders/latest'], ['DELETE', '/orders/latest'], ['GET', '/orders/7/lines/3/'], ['POST', '/a.b/1'], ['PUT', '/orders/42'], ['GET', '/nothing']] as const) {
      const looked = router.lookup(method, path);
      expect(router.match(method, path)).toEqual(looked.kind === 'match' ? looked : undefined);
    }
    expect(router.match('DELETE', '/orders/latest')).toMatchObject({ value: 'delete-order', params: { id: 'latest' } });
  });

  it('tells 404 from 405 with the allowed methods', () => {
    expect(router.lookup('GET', '/orders')).toEqual({ kind: 'not-found' });
    expect(router.lookup('GET', '/orders/7/lines')).toEqual({ kind: 'not-found' });
    expect(router.lookup('POST', '/aXb/1')).toEqual({ kind: 'not-found' });
    expect(router.lookup('PUT', '/orders/42')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'GET'] });
  });

  it('refuses a route declared twice', () => {
    expect(() => router.add('GET', '/orders/{other}', 'again')).toThrow(/declared twice/);
  });
});
