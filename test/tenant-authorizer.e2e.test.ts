/**
 * The tenant API's authorizer through the real CLI: `template render` of a project with an `auth`
 * section puts every route of the tenant's extensions behind the JWT authorizer of its issuer
 * (`{tenant}` filled in), and an issuer API Gateway cannot use is refused with one `error:` line, a
 * `hint:` line and exit 2 by `template render`, and as a failed deploy by `tenant deploy`.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';

type Json = Record<string, any>;

let project: string;

function setAuth(auth: unknown) {
  const file = join(project, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Json;
  config.auth = auth;
  writeFileSync(file, JSON.stringify(config, null, 2));
}

beforeAll(async () => {
  project = await makeProject('shop');
  for (const name of ['avalara', 'cetec']) cpSync(join(repoRoot, 'extensions', name), join(project, 'extensions', name), { recursive: true });
  const file = join(project, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Json;
  config.defaults.extensions = ['avalara', 'cetec'];
  writeFileSync(file, JSON.stringify(config, null, 2));
  const created = await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: project });
  expect(created.exitCode, created.stderr).toBe(0);
}, 120_000);

describe('template render with auth', { timeout: 120_000 }, () => {
  it('guards every route of the tenant\'s extensions with the authorizer of its own issuer, and adds the machine API', async () => {
    setAuth({ jwt: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_{tenant}', audience: 'shop-app' } });
    const result = await runCli(['template', 'render', 'acme'], { cwd: project });
    expect(result.exitCode, result.stderr).toBe(0);
    const template = JSON.parse(result.stdout) as Json;
    expect(template.Resources.HttpApiAuthorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_acme', Audience: ['shop-app'] },
    });
    const routes = Object.values(template.Resources as Record<string, Json>)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.ApiId.Ref === 'HttpApi' && r.Properties.RouteKey !== '$default')
      .map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType, r.Properties.AuthorizerId?.Ref]);
    expect(routes.sort()).toEqual(
      ['GET /_sovereign/openapi.json', 'GET /avalara/ping', 'POST /avalara/quotes', 'GET /cetec/customers', 'GET /cetec/invoices', 'GET /cetec/invoices/{id}', 'GET /cetec/orders']
        .map((key) => [key, 'JWT', 'HttpApiAuthorizer'])
        .sort(),
    );
    expect(template.Resources.MachineApi.Properties.Name).toBe('sovereign-dev-acme-machine');
    expect(template.Outputs.MachineApiUrl).toBeDefined();
  });

  it('has no authorizer without auth.jwt, and no machine API with apiKeys false', async () => {
    setAuth({ apiKeys: false });
    const result = await runCli(['template', 'render', 'acme'], { cwd: project });
    expect(result.exitCode, result.stderr).toBe(0);
    const template = JSON.parse(result.stdout) as Json;
    expect(Object.keys(template.Resources).filter((id) => id.startsWith('Route') || id.includes('Authorizer') || id.startsWith('Machine'))).toEqual([]);
  });

  it('refuses an issuer that is not https: render with exit 2, one error line and a hint; deploy records the failure and deploys nothing', async () => {
    setAuth({ jwt: { issuer: 'http://localhost:8080/realms/{tenant}', audience: 'shop-app' } });
    const render = await runCli(['template', 'render', 'acme'], { cwd: project });
    expect(render.exitCode, render.stderr).toBe(2);
    expect(render.stdout).toBe('');
    expect(render.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: auth\.jwt\.issuer of tenant "acme" is not an https URL/),
      expect.stringMatching(/^hint: set auth\.jwt\.issuer to the issuer's https URL/),
    ]);
    // A fleet deploy reports each tenant's failure (exit 1), as for any template that does not render.
    const deploy = await runCli(['tenant', 'deploy', 'acme', '--json'], { cwd: project });
    expect(deploy.exitCode).toBe(1);
    const shown = await runCli(['tenant', 'show', 'acme', '--json'], { cwd: project });
    const deploys = (JSON.parse(shown.stdout) as Json).tenant.deploys as Json[];
    expect(deploys.filter((d) => d.outcome === 'success')).toEqual([]);
    expect(deploys.at(-1)).toMatchObject({ outcome: 'failure', error: expect.stringMatching(/auth\.jwt\.issuer of tenant "acme" is not an https URL/) });
  });
});
