/**
 * The completion scripts `sovereign completion <shell>` prints. Each is a thin adapter: on TAB it
 * runs the command the user typed (`sovereign`, or a path to it) as `… __complete <words…>` and
 * hands the lines it prints (value, tab, description) to its shell, so what completes is decided
 * in one place (`candidates.ts`) for every shell.
 */
import { COMPLETE_COMMAND } from '../cli.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const bash = `# sovereign completion for bash. Load it in this shell, or from ~/.bashrc:
#   source <(sovereign completion bash)
_sovereign_complete() {
  local IFS=$'\\n' line
  local -a lines
  lines=($("\${COMP_WORDS[0]}" ${COMPLETE_COMMAND} "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  COMPREPLY=()
  for line in "\${lines[@]}"; do
    COMPREPLY+=("\${line%%$'\\t'*}")
  done
}
complete -o default -F _sovereign_complete sovereign
`;

const zsh = `#compdef sovereign
# sovereign completion for zsh. Load it in this shell, or from ~/.zshrc (after compinit):
#   source <(sovereign completion zsh)
# or save it as _sovereign in a folder of $fpath.
_sovereign() {
  local -a lines described
  local line
  lines=("\${(@f)$("\${words[1]}" ${COMPLETE_COMMAND} "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "\${lines[@]}"; do
    [[ -z $line ]] && continue
    described+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
  done
  if (( \${#described} )); then
    _describe -t values sovereign described
  else
    _files
  fi
}
if [[ \${zsh_eval_context[-1]} == loadautoload ]]; then
  _sovereign "$@"
else
  compdef _sovereign sovereign
fi
`;

const fish = `# sovereign completion for fish. Load it in this shell:
#   sovereign completion fish | source
# or save it as ~/.config/fish/completions/sovereign.fish
function __sovereign_complete
    set -l words (commandline -opc)
    $words[1] ${COMPLETE_COMMAND} $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c sovereign -f -a '(__sovereign_complete)'
`;

export function completionScript(shell: Shell): string {
  return { bash, zsh, fish }[shell];
}
