/** The Markdown of docs/configuration.md for a config JSON Schema (scripts/write-config-reference.js). */
export function renderConfigReference(schema: Record<string, unknown>): string;
