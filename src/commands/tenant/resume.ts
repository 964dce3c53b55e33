import { resumeTenant } from '../../lifecycle/apply.js';
import { transitionCommand } from './transition.js';

export default transitionCommand('resume', resumeTenant, (result) =>
  `Resumed tenant ${result.record.id} (${result.from} → ${result.to}): extension routes are served again within about a second.`,
);
