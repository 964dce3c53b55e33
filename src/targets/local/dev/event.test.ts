import { describe, expect, it } from 'vitest';
import { formatRequestTime, fromLambdaResult, isTextContentType, toApiGatewayEvent } from './event.js';

const base = { method: 'post', path: '/avalara/quotes', query: '', rawHeaders: [] as string[], body: Buffer.alloc(0), sourceIp: '127.0.0.1', protocol: 'HTTP/1.1', host: 'acme.localhost:4000', port: 4000, now: Date.UTC(2020, 2, 12, 19, 3, 58), requestId: 'req-1' };

describe('toApiGatewayEvent', () => {
  it('carries a JWT authorizer\'s verdict in requestContext.authorizer.jwt, and none without one', () => {
    const jwt = { claims: { sub: 'user-1', tenant_id: 'acme', exp: '1700000000' }, scopes: ['orders:read'] };
    expect(toApiGatewayEvent({ ...base, authorizer: { jwt } }).requestContext.authorizer).toEqual({ jwt });
    expect('authorizer' in toApiGatewayEvent(base).requestContext).toBe(false);
  });

  it('builds a payload 2.0 event the way API Gateway HTTP APIs do', () => {
    const event = toApiGatewayEvent({
      ...base,
      query: 'a=1&a=2&b=x%20y',
      rawHeaders: ['Content-Type', 'application/json', 'X-Multi', 'one', 'x-multi', 'two', 'Cookie', 'c1=v1; c2=v2', 'User-Agent', 'curl/8', 'Connection', 'keep-alive'],
      body: Buffer.from('{"hello":"world"}'),
    });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/avalara/quotes',
      rawQueryString: 'a=1&a=2&b=x%20y',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,2', b: 'x y' },
      body: '{"hello":"world"}',
      isBase64Encoded: false,
      requestContext: {
        domainName: 'acme.localhost',
        domainPrefix: 'acme',
        http: { method: 'POST', path: '/avalara/quotes', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl/8' },
        requestId: 'req-1',
        routeKey: '$default',
        stage: '$default',
        time: '12/Mar/2020:19:03:58 +0000',
        timeEpoch: base.now,
      },
    });
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.headers.connection).toBeUndefined();
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers['x-forwarded-port']).toBe('4000');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('leaves out query parameters, cookies and body when there are none', () => {
    const event = toApiGatewayEvent({ ...base, method: 'GET' });
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.cookies).toBeUndefined();
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes binary bodies and bodies that are not UTF-8', () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x10]);
    const png = toApiGatewayEvent({ ...base, rawHeaders: ['content-type', 'image/png'], body: bytes });
    expect(png).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
    const mislabelled = toApiGatewayEvent({ ...base, rawHeaders: ['content-type', 'text/plain'], body: bytes });
    expect(mislabelled.isBase64Encoded).toBe(true);
  });

  it('knows which content types API Gateway passes as text', () => {
    for (const type of ['application/json', 'application/problem+json; charset=utf-8', 'text/csv', 'application/xml', 'application/x-www-form-urlencoded', undefined]) {
      expect(isTextContentType(type)).toBe(true);
    }
    for (const type of ['image/png', 'application/octet-stream', 'application/pdf']) expect(isTextContentType(type)).toBe(false);
  });

  it('formats the request time like API Gateway', () => {
    expect(formatRequestTime(Date.UTC(2026, 0, 5, 4, 5, 6))).toBe('05/Jan/2026:04:05:06 +0000');
  });
});

describe('fromLambdaResult', () => {
  it('uses a structured result as given, with cookies as set-cookie headers', () => {
    const response = fromLambdaResult(
      { statusCode: 201, headers: { 'Content-Type': 'application/json', 'X-Id': 7 }, multiValueHeaders: { 'x-many': ['a', 'b'] }, cookies: ['s=1; HttpOnly', 't=2'], body: '{"ok":true}', isBase64Encoded: false },
      'req-1',
    );
    expect(response.statusCode).toBe(201);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'x-id': '7', 'x-many': ['a', 'b'], 'set-cookie': ['s=1; HttpOnly', 't=2'], 'apigw-requestid': 'req-1' });
    expect(response.body.toString()).toBe('{"ok":true}');
  });

  it('decodes base64 bodies', () => {
    const bytes = Buffer.from([1, 2, 3, 250]);
    const response = fromLambdaResult({ statusCode: 200, body: bytes.toString('base64'), isBase64Encoded: true }, 'r');
    expect(Buffer.isBuffer(response.body) && response.body.equals(bytes)).toBe(true);
  });

  it('turns anything without statusCode into a JSON 200, as payload 2.0 does', () => {
    const object = fromLambdaResult({ hello: 'world' }, 'r');
    expect(object).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(object.body.toString())).toEqual({ hello: 'world' });
    expect(fromLambdaResult('plain', 'r').body.toString()).toBe('plain');
  });

  it('refuses a status code HTTP does not have', () => {
    expect(() => fromLambdaResult({ statusCode: 42 }, 'r')).toThrow(/statusCode 42/);
  });
});
