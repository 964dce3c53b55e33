export * from './cfn.js';
export * from './control-plane.js';
export * from './names.js';
export * from './policy.js';
export * from './tenant-stack.js';
export * from './tiers.js';
