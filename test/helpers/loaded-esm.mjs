// Preloaded with --import: appends the URL of every ES module the process loads, one per line,
// to $SOVEREIGN_TEST_LOADED_OUT (the hooks run on their own thread, so each load is written at once).
import { register } from 'node:module';

register(new URL('./loaded-esm-hooks.mjs', import.meta.url), { data: { out: process.env.SOVEREIGN_TEST_LOADED_OUT } });
