/**
 * docs/configuration.md is generated from the config's JSON Schema (scripts/write-config-reference.js,
 * run by `npm run build`): regenerated here from the zod schema, it must equal the committed page,
 * and every key must say what it means.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config.js';
import { renderConfigReference } from '../scripts/write-config-reference.js';
import { repoRoot } from './helpers/cli.js';

type Schema = { description?: string; properties?: Record<string, Schema>; additionalProperties?: unknown; anyOf?: Schema[]; items?: Schema; type?: unknown };

/** Paths of keys (below `path`) that have no description. */
function undescribed(schema: Schema, path: string): string[] {
  const out: string[] = [];
  for (const branch of schema.anyOf ?? [schema]) {
    for (const [key, child] of Object.entries(branch.properties ?? {})) {
      const childPath = path ? `${path}.${key}` : key;
      if (!child.description) out.push(childPath);
      out.push(...undescribed(child, childPath));
    }
    const each = branch.additionalProperties as Schema | undefined;
    if (each && typeof each === 'object' && Object.keys(each).length > 0) {
      if (each.properties && !each.description) out.push(`${path}.*`);
      out.push(...undescribed(each, `${path}.*`));
    }
    if (branch.items) out.push(...undescribed(branch.items, `${path}[]`));
  }
  return out;
}

describe('the configuration reference', () => {
  it('docs/configuration.md is what the schema generates (run `npm run build` after changing src/config.ts)', () => {
    const committed = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
    expect(committed).toBe(renderConfigReference(configJsonSchema() as Record<string, unknown>));
  });

  it('describes every key of the config', () => {
    expect(undescribed(configJsonSchema() as Schema, '')).toEqual([]);
  });

  it('lists every key with its type, default and allowed values', () => {
    const page = renderConfigReference(configJsonSchema() as Record<string, unknown>);
    expect(page).toContain('| `billing.suspendAfterFailures` | integer | `3` | 1–100 | Failed payments in a row before the tenant is suspended |');
    expect(page).toContain('| `tenantConfig.<extension>._schedules` | map of boolean |');
    expect(page).toContain('| `project` | string | required |');
    expect(page).toContain('| `stage` | string | `"dev"` | matches `^(?!aws\\|ssm)[a-z][a-z0-9]{0,11}$` |');
  });
});
