import { describe, expect, it } from 'vitest';
import { guardConsoleRequest, isConsolePath, isLoopbackHost, sessionCookie, sessionValue } from './guard.js';

const token = 'T'.repeat(43);
const decide = (headers: Record<string, string>, query = '') => guardConsoleRequest({ headers: { host: 'localhost:4000', ...headers } }, '/_sovereign/console/logs', new URLSearchParams(query), { token, port: 4000 });

describe('the console guard', () => {
  it('takes loopback names on dev\'s port only', () => {
    for (const host of ['localhost:4000', '127.0.0.1:4000', '[::1]:4000', 'LOCALHOST:4000', 'localhost']) expect(isLoopbackHost(host, 4000), host).toBe(true);
    for (const host of ['evil.example:4000', 'acme.localhost:4000', 'localhost:4001', '127.0.0.2:4000', 'localhost.:4000', '', undefined]) expect(isLoopbackHost(host, 4000), String(host)).toBe(false);
    expect(decide({ host: 'evil.example:4000', authorization: `Bearer ${token}` })).toMatchObject({ kind: 'refuse', status: 421 });
  });

  it('exchanges a valid ?token= for the cookie, keeping the other parameters', () => {
    expect(decide({}, `token=${token}&tenant=acme`)).toEqual({ kind: 'exchange', location: '/_sovereign/console/logs?tenant=acme' });
    expect(decide({}, 'token=wrong')).toMatchObject({ kind: 'refuse', status: 401 });
    expect(sessionCookie(token)).toBe(`sovereign_console=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/_sovereign/`);
  });

  it('passes the cookie or the bearer token, and nothing else', () => {
    expect(decide({ cookie: `other=1; sovereign_console=forged; sovereign_console=${sessionValue(token)}` })).toEqual({ kind: 'pass', via: 'cookie' });
    expect(decide({ authorization: `Bearer ${token}` })).toEqual({ kind: 'pass', via: 'bearer' });
    expect(decide({ cookie: `sovereign_console=${token}` })).toMatchObject({ kind: 'refuse', status: 401 });
    expect(decide({ cookie: `sovereign_console=${sessionValue('another run')}` })).toMatchObject({ kind: 'refuse', status: 401 });
    expect(decide({})).toMatchObject({ kind: 'refuse', status: 401 });
  });

  it('refuses requests another site\'s page made, even with the cookie', () => {
    const cookie = `sovereign_console=${sessionValue(token)}`;
    expect(decide({ cookie, 'sec-fetch-site': 'same-origin' })).toMatchObject({ kind: 'pass' });
    expect(decide({ cookie, 'sec-fetch-site': 'none' })).toMatchObject({ kind: 'pass' });
    for (const site of ['same-site', 'cross-site']) expect(decide({ cookie, 'sec-fetch-site': site })).toMatchObject({ kind: 'refuse', status: 403 });
  });

  it('knows its paths', () => {
    expect(isConsolePath('/_sovereign/console')).toBe(true);
    expect(isConsolePath('/_sovereign/console/api/logs')).toBe(true);
    expect(isConsolePath('/_sovereign/consoles')).toBe(false);
    expect(isConsolePath('/_sovereign/dev/stats')).toBe(false);
  });
});
