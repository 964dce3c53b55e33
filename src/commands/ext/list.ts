import { formatTable } from '../../output/output.js';
import { extensionRoutePath } from '../../contract/runtime-paths.js';
import { defineCommand } from '../define.js';

export default defineCommand({
  examples: ['sovereign ext list', 'sovereign ext list --json | jq -r ".extensions[] | select(.tenants | length > 0) | .name"'],
  async run(ctx) {
    const project = ctx.project();
    const { discoverExtensions } = await import('../../extensions/discover.js');
    const [found, tenants] = await Promise.all([discoverExtensions(project.paths.extensions), ctx.state().listTenants()]);
    const extensions = found.map((ext) => {
      const loaded = (ext.manifest ?? ext.loaded) as { version?: unknown; description?: unknown } | undefined;
      return {
        name: ext.name,
        version: typeof loaded?.version === 'string' ? loaded.version : null,
        description: typeof loaded?.description === 'string' ? loaded.description : null,
        status: ext.status,
        problems: ext.problems,
        routes: (ext.manifest?.routes ?? []).map((r) => ({ method: r.method, path: extensionRoutePath(ext.name, r.path), summary: r.summary ?? null })),
        secrets: (ext.manifest?.secrets ?? []).map((s) => ({ key: s.key, description: s.description, required: s.required })),
        tenants: tenants.filter((t) => t.extensions.includes(ext.name)).map((t) => t.id),
        codeSha256: ext.codeSha256,
      };
    });
    for (const ext of extensions) {
      if (ext.status !== 'ok') ctx.out.warn(`extension "${ext.name}" is ${ext.status}: ${ext.problems[0]} (run \`sovereign ext validate ${ext.name}\`)`);
    }
    ctx.out.result({ extensions }, () => {
      if (extensions.length === 0) return `No extensions in ${project.paths.extensions}. Create one with \`sovereign ext new <name>\`.`;
      const rows = extensions.map((e) => ({
        name: e.name,
        version: e.version ?? '-',
        status: e.status,
        routes: e.routes.map((r) => `${r.method} ${r.path}`),
        secrets: e.secrets.map((s) => s.key),
        tenants: e.tenants,
      }));
      return formatTable(rows, ['name', 'version', 'status', 'routes', 'secrets', 'tenants']);
    });
  },
});
