/** The targets a project can name in `sovereign.config.json` or `--target` (imports nothing: the CLI reads it before any command loads). */
export const TARGET_NAMES = ['local', 'aws'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
