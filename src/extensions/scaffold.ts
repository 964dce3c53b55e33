/**
 * `sovereign ext new <name>`: writes a new extension that type-checks and whose test passes at
 * once. The files are rendered by a pure function, written to a staging folder beside the
 * target and renamed into place, so a failure leaves nothing half-written.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { conflict, badInput } from '../errors.js';
import { extensionNameProblem } from '../names.js';

export interface ScaffoldOptions {
  /** The project's extensions folder (absolute). */
  extensionsDir: string;
  name: string;
  /** Shown in next steps (relative paths are printed from here); default: the parent of extensionsDir. */
  projectDir?: string;
}

export interface ScaffoldResult {
  name: string;
  dir: string;
  /** Paths relative to the extension folder, sorted. */
  files: string[];
  nextSteps: string;
}

/** `avalara-cetec` → `AvalaraCetec`. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The files of a new extension, by path relative to its folder. Pure. */
export function renderExtensionFiles(name: string): Record<string, string> {
  const type = pascal(name);
  return {
    'extension.ts': `import { defineExtension } from 'sovereign-cli/runtime';
import { z } from 'zod';
import { greetingRequestSchema, greetingResponseSchema } from './models/greeting.js';

/** Tenant-level settings of ${name} (\`ctx.config\` in handlers). */
export const configSchema = z.object({
  greeting: z.string().min(1).default('Hello'),
});
export type ${type}Config = z.infer<typeof configSchema>;

export default defineExtension({
  name: '${name}',
  version: '0.1.0',
  description: 'TODO: what ${name} does',
  routes: [
    {
      method: 'POST',
      path: '/greetings',
      handler: 'greet',
      summary: 'Greet someone and count how often they were greeted',
      request: { body: greetingRequestSchema },
      response: greetingResponseSchema,
      // Only an authenticated caller of the tenant (its JWT issuer or an API key); 'public' opens it to anyone.
      auth: 'required',
      // Optional: callers need at least one of these scopes, e.g. ['greetings:write'].
    },
  ],
  // Secret keys this extension reads with ctx.secrets.get('<key>'), e.g.
  // { key: 'api_key', description: 'API key of the upstream service' }
  secrets: [],
  // IAM statements it needs, confined to the tenant with {tenant} {stage} {region} {account}.
  permissions: [],
  config: configSchema,
});
`,
    'models/greeting.ts': `import { z } from 'zod';

/** Body of \`POST /${name}/greetings\`. */
export const greetingRequestSchema = z.object({
  name: z.string().trim().min(1).max(100),
});
export type GreetingRequest = z.infer<typeof greetingRequestSchema>;

export const greetingResponseSchema = z.object({
  message: z.string(),
  count: z.number().int(),
});
export type GreetingResponse = z.infer<typeof greetingResponseSchema>;

/** How a greeting count is stored in the tenant table (pk/sk are prefixed with the extension). */
export interface GreetingItem {
  [key: string]: unknown;
  pk: 'greeting';
  sk: string;
  name: string;
  count: number;
}
`,
    'services/greetings.ts': `import type { ExtensionTable } from 'sovereign-cli/runtime';
import type { GreetingItem } from '../models/greeting.js';

/** Adds one to the number of times \`name\` was greeted and returns the new count. */
export async function countGreeting(db: ExtensionTable, name: string): Promise<number> {
  const key = { pk: 'greeting' as const, sk: name.toLowerCase() };
  const current = (await db.get(key.pk, key.sk)) as GreetingItem | undefined;
  const item: GreetingItem = { ...key, name, count: (current?.count ?? 0) + 1 };
  await db.put(item);
  return item.count;
}
`,
    'handlers/greet.ts': `import { defineHandler } from 'sovereign-cli/runtime';
import type { ${type}Config } from '../extension.js';
import type { GreetingRequest, GreetingResponse } from '../models/greeting.js';
import { countGreeting } from '../services/greetings.js';

export const handler = defineHandler<GreetingRequest, GreetingResponse, ${type}Config>(async (request, ctx) => {
  const count = await countGreeting(ctx.db, request.body.name);
  ctx.log.info('greeted', { count });
  return { message: \`\${ctx.config.greeting}, \${request.body.name}!\`, count };
});
`,
    [`test/${name}.test.ts`]: `import { afterEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from 'sovereign-cli/testing';
import manifest from '../extension.js';
import * as greet from '../handlers/greet.js';

let t: TestContext | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('${name}', () => {
  it('greets and counts greetings in the tenant table', async () => {
    t = await createTestContext({ extension: '${name}', manifest, handlers: { greet }, config: { greeting: 'Hi' } });
    const first = await t.invoke('POST', '/${name}/greetings', { body: { name: 'Ada' } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ message: 'Hi, Ada!', count: 1 });
    const second = await t.invoke('POST', '/${name}/greetings', { body: { name: 'ada' } });
    expect(second.body).toEqual({ message: 'Hi, ada!', count: 2 });
  });

  it('refuses a request without a name', async () => {
    t = await createTestContext({ extension: '${name}', manifest, handlers: { greet } });
    const res = await t.invoke('POST', '/${name}/greetings', { body: {} });
    expect(res.status).toBe(400);
  });
});
`,
  };
}

/** Writes `extensions/<name>/`, all or nothing. Refuses an invalid (exit 2) or existing (exit 4) name. */
export function scaffoldExtension(options: ScaffoldOptions): ScaffoldResult {
  const { extensionsDir, name } = options;
  const problem = extensionNameProblem(name);
  if (problem) {
    throw badInput(problem, 'extension names are 2–40 characters of a-z, 0-9 and single "-", starting with a letter');
  }
  const dir = join(extensionsDir, name);
  if (existsSync(dir)) {
    throw conflict(`extension "${name}" already exists at ${dir}`, 'pick another name, or edit the existing extension');
  }
  const files = renderExtensionFiles(name);
  mkdirSync(extensionsDir, { recursive: true });
  const staging = join(extensionsDir, `.tmp-new-${name}-${process.pid}-${Date.now()}`);
  try {
    for (const [path, text] of Object.entries(files)) {
      const target = join(staging, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
    if (existsSync(dir)) throw conflict(`extension "${name}" already exists at ${dir}`);
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const shown = relative(options.projectDir ?? dirname(extensionsDir), dir) || dir;
  const steps: Array<[string, string]> = [
    [`npx vitest run ${shown}`, 'run its test'],
    [`sovereign ext validate ${name}`, 'check manifest, handlers, secrets and permissions'],
    [`sovereign ext enable ${name} --tenant <id>`, 'turn it on for a tenant'],
    ['sovereign tenant deploy <id>', 'ship it'],
  ];
  const width = Math.max(...steps.map(([command]) => command.length)) + 2;
  const nextSteps = [
    `Created ${shown}/ with ${Object.keys(files).sort().join(', ')}.`,
    '',
    'Next steps:',
    ...steps.map(([command, why]) => `  ${command.padEnd(width)}${why}`),
  ].join('\n');
  return { name, dir, files: Object.keys(files).sort(), nextSteps };
}
