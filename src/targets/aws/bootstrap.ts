/**
 * `sovereign bootstrap`: the stage's control plane (artifact bucket, tenant-registry and audit
 * tables, secrets key) as the stack `sovereign-<stage>-control-plane`, deployed through the same
 * change-set flow as tenants. Running it again is a no-op when nothing changed.
 */
import type { LiveView } from '../../output/live.js';
import { renderControlPlaneStack } from '../../templates/control-plane.js';
import { controlPlaneStackName } from '../../templates/names.js';
import { deployStack, type DeployStackResult } from './deploy.js';
import type { AwsSession } from './session.js';

export interface BootstrapOptions {
  session: AwsSession;
  approve: (question: string) => Promise<boolean>;
  view?: LiveView;
  log?: (line: string) => void;
  pollMs?: number;
}

export interface BootstrapResult extends DeployStackResult {
  account: string;
  region: string;
  stage: string;
}

export async function bootstrapControlPlane(options: BootstrapOptions): Promise<BootstrapResult> {
  const { session } = options;
  const { identity, region } = await session.announce();
  const result = await deployStack({
    cfn: session.clients.cloudformation,
    sleep: session.sleep,
    now: session.now,
    ...(options.view ? { view: options.view } : {}),
    ...(options.log ? { log: options.log, onThrottled: options.log } : {}),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    stackName: controlPlaneStackName(session.stage),
    template: renderControlPlaneStack({ project: session.project, stage: session.stage }),
    tags: { 'sovereign:project': session.project, 'sovereign:stage': session.stage, 'sovereign:component': 'control-plane' },
    approve: options.approve,
  });
  return { ...result, account: identity.account, region, stage: session.stage };
}
