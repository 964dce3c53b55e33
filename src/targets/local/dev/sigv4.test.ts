import { describe, expect, it } from 'vitest';
import { computeSignature, verifySigV4, type SignedRequest } from './sigv4.js';

// AWS's worked example of the signing process (IAM ListUsers, the documentation's example key).
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const example: SignedRequest = {
  method: 'GET',
  url: '/?Action=ListUsers&Version=2010-05-08',
  rawHeaders: ['Host', 'iam.amazonaws.com', 'Content-Type', 'application/x-www-form-urlencoded; charset=utf-8', 'X-Amz-Date', '20150830T123600Z'],
  body: Buffer.alloc(0),
};
const SIGNED = ['content-type', 'host', 'x-amz-date'];

describe('sigv4', () => {
  it('computes the signature of AWS’s published example', () => {
    expect(computeSignature(example, SIGNED, SECRET, '20150830T123600Z', 'us-east-1', 'iam')).toBe('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
  });

  const authorized = (signature: string, extra: string[] = []): SignedRequest => ({
    ...example,
    rawHeaders: [...example.rawHeaders, ...extra, 'Authorization', `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=${SIGNED.join(';')}, Signature=${signature}`],
  });
  const options = { service: 'iam', region: 'us-east-1', now: new Date('2015-08-30T12:40:00Z'), secretOf: (id: string) => (id === 'AKIDEXAMPLE' ? { secretAccessKey: SECRET } : undefined) };

  it('accepts the example as received, and only within 15 minutes of its date', () => {
    const good = authorized('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
    expect(verifySigV4(good, options)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    expect(verifySigV4(good, { ...options, now: new Date('2015-08-30T12:52:00Z') })).toMatchObject({ ok: false, error: 'InvalidSignatureException', message: 'Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)' });
  });

  it('refuses a changed query, a wrong scope, an unknown key and an unsigned host', () => {
    const good = authorized('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
    expect(verifySigV4({ ...good, url: '/?Action=ListUsers&Version=2010-05-09' }, options)).toMatchObject({ ok: false, error: 'InvalidSignatureException' });
    expect(verifySigV4(good, { ...options, region: 'eu-west-1' })).toMatchObject({ ok: false, message: "Credential should be scoped to a valid region, not 'us-east-1'." });
    expect(verifySigV4(good, { ...options, secretOf: () => undefined })).toMatchObject({ ok: false, error: 'UnrecognizedClientException' });
    const noHost = { ...good, rawHeaders: good.rawHeaders.map((h) => h.replace('SignedHeaders=content-type;host;x-amz-date', 'SignedHeaders=content-type;x-amz-date')) };
    expect(verifySigV4(noHost, options)).toMatchObject({ ok: false, message: "'Host' must be a 'SignedHeader' in the AWS Authorization." });
  });
});
