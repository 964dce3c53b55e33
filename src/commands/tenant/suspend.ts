import { suspendTenant } from '../../lifecycle/apply.js';
import { transitionCommand } from './transition.js';

export default transitionCommand('suspend', suspendTenant, (result) =>
  `Suspended tenant ${result.record.id} (${result.from} → ${result.to}): extension routes answer 403 within about a second; data is untouched.`,
);
