// Writes the JSON Schema of sovereign.config.json from the zod schema, for editors.
import { mkdirSync, writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/config.js';

mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
writeFileSync(new URL('../schema/sovereign.config.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
