import { completionScript, SHELLS } from '../completion/scripts.js';
import { badInput } from '../errors.js';
import { arg, defineCommand, parsedBy } from './define.js';

const shell = parsedBy((text) => {
  const known = SHELLS.find((name) => name === text);
  if (known) return known;
  throw badInput(`there is no completion for the shell "${text}"`, 'run `sovereign completion bash`, `sovereign completion zsh` or `sovereign completion fish`');
});

export default defineCommand({
  examples: ['sovereign completion bash > ~/.local/share/bash-completion/completions/sovereign', 'sovereign completion zsh > "${fpath[1]}/_sovereign"', 'sovereign completion fish > ~/.config/fish/completions/sovereign.fish'],
  description: 'Print the shell completion script for bash, zsh or fish: commands, options, and the project\'s tenant ids and extension names',
  arguments: { shell: arg('<shell>', 'bash, zsh or fish', shell) },
  help: '\nFor this shell only: source <(sovereign completion bash), source <(sovereign completion zsh) or sovereign completion fish | source.\nTenant ids and extension names are read from the project at each TAB (local target; aws tenants live in a table and are not offered).\n',
  async run(ctx, { shell }) {
    const script = completionScript(shell);
    ctx.out.result({ shell, script }, () => script.trimEnd());
  },
});
