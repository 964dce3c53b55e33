// Preloaded with --require: at exit, writes the CommonJS modules the process loaded (the AWS SDK's
// packages load as CommonJS, whether imported or required) to $SOVEREIGN_TEST_LOADED_OUT.
process.on('exit', () => {
  require('node:fs').writeFileSync(process.env.SOVEREIGN_TEST_LOADED_OUT, JSON.stringify(Object.keys(require.cache)));
});
