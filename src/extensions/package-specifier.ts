/**
 * How extensions name this package: `sovereign-cli/runtime` (and `/testing`, `/openapi`,
 * `/webhook`). The npm name `sovereign` belongs to an unrelated package, so a bare `sovereign/…`
 * import is refused while bundling instead of being resolved: in a project where that package is
 * installed it would put someone else's code into a tenant's artifact.
 */
import type { Plugin } from 'esbuild';

/** The specifier extensions import the extension API from; bundles resolve it to this package's runtime. */
export const RUNTIME_SPECIFIER = 'sovereign-cli/runtime';

/** esbuild plugin refusing `sovereign` and `sovereign/…` with the specifier meant. */
export const refuseUnrelatedSovereign: Plugin = {
  name: 'refuse-unrelated-sovereign',
  setup(build) {
    build.onResolve({ filter: /^sovereign(\/|$)/ }, (args) => ({
      errors: [
        {
          text: `"${args.path}" names an unrelated npm package; import "${args.path.replace(/^sovereign/, 'sovereign-cli')}" instead`,
        },
      ],
    }));
  },
};
