export * from './bundle.js';
export * from './entry-source.js';
export * from './manifests.js';
export * from './pack.js';
export * from './zip.js';
export { runtimeEntry } from './locate.js';
