/**
 * The CLI's side of the naming rules: the rules themselves live in `contract/names.ts` (shared
 * with the runtime); here a broken rule becomes a usage error with a hint.
 */
import { extensionNameProblem, stageProblem, tenantIdProblem } from './contract/names.js';
import { badInput } from './errors.js';

export { extensionNameProblem, RESERVED_TENANT_IDS, stageProblem, tenantIdProblem } from './contract/names.js';

export function assertTenantId(id: string): void {
  const problem = tenantIdProblem(id);
  if (problem) throw badInput(problem, 'tenant ids are 3–28 characters of a-z, 0-9 and single "-", starting with a letter');
}

export function assertExtensionName(name: string): void {
  const problem = extensionNameProblem(name);
  if (problem) throw badInput(problem, 'extension names are 2–40 characters of a-z, 0-9 and single "-", starting with a letter');
}

export function assertStage(stage: string): void {
  const problem = stageProblem(stage);
  if (problem) throw badInput(problem, 'a stage is 1–12 characters of a-z and 0-9, starting with a letter (default: dev)');
}
