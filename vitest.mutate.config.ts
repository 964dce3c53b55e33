// The vitest configuration Stryker runs (stryker.config.mjs): the project's own, limited to the
// test files of the module being mutated.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { selectedModule } from './stryker.config.mjs';

const config = mergeConfig(base, defineConfig({ test: { include: selectedModule().tests } }));
// mergeConfig concatenates arrays: the module's tests replace the project's patterns instead.
config.test!.include = selectedModule().tests;
export default config;
