import { describe, expect, it } from 'vitest';
import { parseArgv } from './define.js';
import dev from './dev.js';
import top from './top.js';

describe('dev and top: parsing', () => {
  it('reads the port as a number, the tenants, --demo, --no-throttle, --idle and --warm', async () => {
    expect(await parseArgv(dev, [])).toEqual({ port: undefined, tenants: undefined, demo: false, throttle: true, idle: undefined, warm: false });
    expect(await parseArgv(dev, ['--port', '0', '--tenant', 'acme', '--tenant', 'globex', '--demo', '--no-throttle'])).toEqual({ port: 0, tenants: ['acme', 'globex'], demo: true, throttle: false, idle: undefined, warm: false });
    expect(await parseArgv(dev, ['--idle', '90s', '--warm'])).toMatchObject({ idle: 90_000, warm: true });
    expect(await parseArgv(dev, ['--idle', '5m'])).toMatchObject({ idle: 300_000 });
    expect(await parseArgv(dev, ['--idle', '500ms'])).toMatchObject({ idle: 500 });
    expect(await parseArgv(dev, ['--idle', '2'])).toMatchObject({ idle: 2000 });
    expect(await parseArgv(top, [])).toEqual({ seconds: 1, minutes: 15 });
    expect(await parseArgv(top, ['--interval', '0.3', '--minutes', '5'])).toEqual({ seconds: 0.3, minutes: 5 });
  });

  it('refuses a port that is not one, a bad tenant id and a short interval with exit 2', async () => {
    await expect(parseArgv(dev, ['--port', 'http'])).rejects.toMatchObject({ exitCode: 2, message: '--port http is not a port number', hint: 'pass 0–65535; 0 picks a free port' });
    await expect(parseArgv(dev, ['--port', '65536'])).rejects.toMatchObject({ exitCode: 2, message: '--port 65536 is not a port number' });
    await expect(parseArgv(dev, ['--tenant', 'Acme'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/upper-case letters/), hint: expect.stringMatching(/^tenant ids are/) });
    await expect(parseArgv(dev, ['--idle', 'soon'])).rejects.toMatchObject({ exitCode: 2, message: '--idle soon is not a duration of at least 100 ms', hint: expect.stringContaining('--idle 90s') });
    await expect(parseArgv(dev, ['--idle', '50ms'])).rejects.toMatchObject({ exitCode: 2 });
    await expect(parseArgv(top, ['--interval', '0.1'])).rejects.toMatchObject({ exitCode: 2, message: '--interval 0.1 is not a number of seconds ≥ 0.2' });
  });
});
