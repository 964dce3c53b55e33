import { describe, expect, it } from 'vitest';
import { localhostCheck } from './doctor.js';

describe('the *.localhost check', () => {
  it('ok when every address is loopback, IPv4 or IPv6', async () => {
    const check = await localhostCheck(async () => [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
    expect(check).toEqual({ id: 'localhost', status: 'ok', detail: '*.localhost resolves to loopback (127.0.0.1, ::1): http://<tenant>.localhost works' });
  });

  it('warn, with the path form as the fix, when a name resolves elsewhere (a search domain, a wildcard DNS)', async () => {
    const check = await localhostCheck(async () => [{ address: '127.0.0.1', family: 4 }, { address: '203.0.113.7', family: 4 }]);
    expect(check).toMatchObject({ status: 'warn', detail: 'x.localhost resolves to 127.0.0.1, 203.0.113.7, not only to loopback' });
    expect(check.fix).toContain('http://localhost:<port>/t/<tenant>/');
  });

  it('warn when the resolver does not know the name', async () => {
    const check = await localhostCheck(async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND x.localhost'), { code: 'ENOTFOUND' });
    });
    expect(check).toMatchObject({ status: 'warn', detail: 'x.localhost does not resolve on this machine (ENOTFOUND)' });
  });
});
