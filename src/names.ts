import { badInput } from './errors.js';

export const RESERVED_TENANT_IDS = new Set([
  'admin', 'api', 'www', 'sovereign', 'control', 'control-plane', 'system', 'root', 'default', 'all', 'local', 'aws',
]);

const SEGMENTED = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Why `value` is not a valid tenant id or extension name, or undefined when it is. */
function nameProblem(kind: string, value: string, min: number, max: number): string | undefined {
  if (value.length === 0) return `${kind} is empty`;
  if (value.length < min) return `${kind} "${value}" is too short (${value.length} characters, at least ${min})`;
  if (value.length > max) return `${kind} "${value}" is too long (${value.length} characters, at most ${max})`;
  if (/[A-Z]/.test(value)) return `${kind} "${value}" has upper-case letters; use lower case`;
  if (!/^[a-z]/.test(value)) return `${kind} "${value}" must start with a letter`;
  const bad = [...value].findIndex((c) => !/[a-z0-9-]/.test(c));
  if (bad >= 0) return `${kind} "${value}" has "${[...value][bad]}" at position ${bad + 1}; only a-z, 0-9 and "-" are allowed`;
  if (value.endsWith('-')) return `${kind} "${value}" must not end with "-"`;
  if (value.includes('--')) return `${kind} "${value}" must not contain "--"`;
  if (!SEGMENTED.test(value)) return `${kind} "${value}" is not valid`;
  return undefined;
}

export function tenantIdProblem(id: string): string | undefined {
  const problem = nameProblem('tenant id', id, 3, 28);
  if (problem) return problem;
  if (RESERVED_TENANT_IDS.has(id)) return `tenant id "${id}" is reserved`;
  return undefined;
}

export function assertTenantId(id: string): void {
  const problem = tenantIdProblem(id);
  if (problem) throw badInput(problem, 'tenant ids are 3–28 characters of a-z, 0-9 and single "-", starting with a letter');
}

export function extensionNameProblem(name: string): string | undefined {
  return nameProblem('extension name', name, 2, 40);
}

export function assertExtensionName(name: string): void {
  const problem = extensionNameProblem(name);
  if (problem) throw badInput(problem, 'extension names are 2–40 characters of a-z, 0-9 and single "-", starting with a letter');
}

export function stageProblem(stage: string): string | undefined {
  if (!/^[a-z][a-z0-9]{0,11}$/.test(stage)) return `stage "${stage}" is not valid`;
  // Every default SSM name starts with `/<stage>/`, and AWS reserves names starting with aws or ssm.
  if (/^(aws|ssm)/.test(stage)) return `stage "${stage}" starts with "${stage.slice(0, 3)}", which AWS reserves for its own parameter names`;
  return undefined;
}

export function assertStage(stage: string): void {
  const problem = stageProblem(stage);
  if (problem) throw badInput(problem, 'a stage is 1–12 characters of a-z and 0-9, starting with a letter (default: dev)');
}
