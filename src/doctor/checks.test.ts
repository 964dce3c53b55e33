import { describe, expect, it } from 'vitest';
import { enginesMinimum, nodeCheck } from './checks.js';

describe('the Node check', () => {
  it('reads the engines minimum of package.json', () => {
    expect(enginesMinimum()).toMatch(/^\d+\.\d+/);
  });

  it('fail below the engines minimum, warn below Node 22, ok from 22, and says which Node runs', () => {
    expect(nodeCheck('v20.14.0', 'nodejs24.x', '20.15')).toMatchObject({ status: 'fail', detail: expect.stringContaining('sovereign needs Node 20.15 or newer') });
    expect(nodeCheck('v18.20.0', 'nodejs24.x', '20.15').fix).toBe('install Node 24 (or at least 20.15) and run sovereign with it');
    const old = nodeCheck('v20.20.2', 'nodejs24.x', '20.15');
    expect(old).toMatchObject({ status: 'warn', detail: expect.stringContaining('Node v20.20.2 runs sovereign') });
    expect(old.fix).toContain('SOVEREIGN_DEV_NODE');
    expect(nodeCheck('v22.0.0', 'nodejs24.x', '20.15').status).toBe('ok');
    expect(nodeCheck('v24.11.1', 'nodejs22.x', '20.15')).toMatchObject({ status: 'ok', detail: expect.stringContaining('tenants deploy on nodejs22.x (Node 22)') });
  });
});
