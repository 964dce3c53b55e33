/** The isolation matrix on aws: each request decided by IAM's SimulateCustomPolicy, batched by resource and paginated. */
import type { ContextEntry, IAMClient } from '@aws-sdk/client-iam';
import { foldMatrix, isolationRequests, isolationSubjects, stageKeyProbe, type IsolationInputs, type IsolationMatrix, type Probe } from '../../isolation/matrix.js';
import type { Decision, RequestContext } from '../../isolation/policy-eval.js';
import { awsFailure, realSleep, withBackoff, type Sleep } from './errors.js';

/** Resources per SimulateCustomPolicy call; results are paged on top of that. */
export const SIMULATION_BATCH = 20;

function contextEntries(context: RequestContext | undefined): ContextEntry[] {
  return Object.entries(context ?? {}).map(([key, value]) => ({
    ContextKeyName: key,
    ContextKeyType: Array.isArray(value) ? 'stringList' : 'string',
    ContextKeyValues: Array.isArray(value) ? value : [value],
  }));
}

/** The same matrix, decided by IAM's SimulateCustomPolicy (batched by resource, paginated). */
export async function isolationMatrixOnAws(iam: IAMClient, inputs: IsolationInputs, options: { only?: string; sleep?: Sleep } = {}): Promise<IsolationMatrix> {
  // The IAM client library loads only here: the offline matrix (audit bundles, local) needs none of it.
  const { SimulateCustomPolicyCommand } = await import('@aws-sdk/client-iam');
  const subjects = isolationSubjects(inputs);
  const requests = isolationRequests(subjects, { only: options.only, stageKey: stageKeyProbe(inputs) });
  const decisions = new Map<string, Decision[]>();
  for (const subject of subjects) {
    const probes = requests.get(subject.tenant);
    if (!probes) continue;
    const policy = JSON.stringify(subject.policy);
    const answers = new Map<string, Decision>();
    // Group by (kind, service, context) so each call's actions fit its resources.
    const groups = new Map<string, Probe[]>();
    for (const probe of probes) {
      const service = probe.resource.split(':')[2] ?? '';
      const key = `${probe.kind}\u0000${service}\u0000${JSON.stringify(probe.context ?? {})}\u0000${probe.owner === subject.tenant ? 'own' : 'other'}`;
      groups.set(key, [...(groups.get(key) ?? []), probe]);
    }
    for (const group of groups.values()) {
      const resources = [...new Set(group.map((p) => p.resource))];
      for (let i = 0; i < resources.length; i += SIMULATION_BATCH) {
        const batch = new Set(resources.slice(i, i + SIMULATION_BATCH));
        const actions = [...new Set(group.filter((p) => batch.has(p.resource)).map((p) => p.action))].sort();
        let marker: string | undefined;
        do {
          let page;
          try {
            page = await withBackoff(
              () =>
                iam.send(
                  new SimulateCustomPolicyCommand({
                    PolicyInputList: [policy],
                    ActionNames: actions,
                    ResourceArns: [...batch],
                    ...(group[0]!.context ? { ContextEntries: contextEntries(group[0]!.context) } : {}),
                    ...(marker ? { Marker: marker } : {}),
                  }),
                ),
              { sleep: options.sleep ?? realSleep },
            );
          } catch (error) {
            throw awsFailure(error, 'simulating tenant policies (iam:SimulateCustomPolicy)');
          }
          for (const result of page.EvaluationResults ?? []) {
            const decision: Decision = result.EvalDecision === 'allowed' ? 'allowed' : result.EvalDecision === 'explicitDeny' ? 'explicitDeny' : 'implicitDeny';
            answers.set(`${result.EvalActionName}\u0000${result.EvalResourceName}`, decision);
          }
          marker = page.IsTruncated ? page.Marker : undefined;
        } while (marker);
      }
    }
    decisions.set(
      subject.tenant,
      probes.map((p) => {
        const decision = answers.get(`${p.action}\u0000${p.resource}`);
        // A pair IAM did not answer for is not proven denied.
        return decision ?? 'allowed';
      }),
    );
  }
  return foldMatrix('iam:SimulateCustomPolicy', subjects, requests, decisions);
}

