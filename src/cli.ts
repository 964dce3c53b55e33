import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, UserError, badInput, environmentError } from './errors.js';
import { stageProblem } from './names.js';
import { Output } from './output/output.js';
import { TARGET_NAMES } from './targets/names.js';
import type { Project } from './project.js';
import { COMMANDS, GROUPS, SUBGROUPS, type CommandEntry } from './commands/registry.js';
import { GLOBAL_ENV, type CommandContext, type CommandModule, type GlobalOptions } from './commands/types.js';
import { usageError } from './commands/usage-error.js';

/** The hidden command the completion scripts call on TAB (`sovereign __complete <words…>`). */
export const COMPLETE_COMMAND = '__complete';

const VALUE_FLAGS = new Set(['--target', '--stage', '--profile', '--region', '--endpoint-url', '-C', '--cwd']);

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command path argv names (`['tenant', 'create']`, `['tenant', 'keys', 'list']`), skipping global options and their values. */
export function commandPathOf(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 3; i += 1) {
    const token = argv[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) {
      if (VALUE_FLAGS.has(token)) i += 1;
      continue;
    }
    words.push(token);
    if (words.length === 1 && !(token in GROUPS)) break;
    if (words.length === 2 && !(words.join(' ') in SUBGROUPS)) break;
  }
  return words;
}

function addGlobalOptions(program: Command): void {
  program
    .addOption(new Option('--json', 'print one JSON document on stdout').env(GLOBAL_ENV.json))
    .addOption(new Option('--target <target>', 'where tenants run').choices([...TARGET_NAMES]).env(GLOBAL_ENV.target))
    .addOption(new Option('--stage <name>', 'deployment stage (default: dev)').env(GLOBAL_ENV.stage))
    .addOption(new Option('--profile <name>', 'AWS profile').env(GLOBAL_ENV.profile))
    .addOption(new Option('--region <region>', 'AWS region').env(GLOBAL_ENV.region))
    .addOption(new Option('--endpoint-url <url>', 'an AWS-compatible endpoint for every service').env(GLOBAL_ENV.endpointUrl))
    .addOption(new Option('-y, --yes', 'answer yes to confirmations (needed without a TTY)').env(GLOBAL_ENV.yes))
    .addOption(new Option('--no-color', 'no colours (also NO_COLOR)'))
    .addOption(new Option('--verbose', 'show debug output and stack traces').env(GLOBAL_ENV.verbose))
    .addOption(new Option('-C, --cwd <dir>', 'run as if started in <dir>').env(GLOBAL_ENV.cwd));
}

function colourWanted(flag: boolean): boolean {
  if (!flag) return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR === '0') return false;
  return Boolean(process.stderr.isTTY);
}

/** Resolves the global options: default < config file < environment < flag. */
function resolveGlobals(program: Command, loadConfig: () => Project | undefined): GlobalOptions {
  const raw = program.opts<Record<string, unknown>>();
  const given = (name: string) => {
    const source = program.getOptionValueSource(name);
    return source === 'cli' || source === 'env';
  };
  const fromConfig = <K extends 'target' | 'stage' | 'profile' | 'region' | 'endpointUrl'>(key: K) =>
    given(key) ? (raw[key] as string) : (loadConfig()?.config[key] as string | undefined);
  const truthy = (v: unknown) => v === true || v === 'true' || v === '1';
  const globals: GlobalOptions = {
    json: truthy(raw.json),
    target: (fromConfig('target') ?? 'local') as GlobalOptions['target'],
    stage: fromConfig('stage') ?? 'dev',
    profile: fromConfig('profile') ?? process.env.AWS_PROFILE,
    region: fromConfig('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    endpointUrl: fromConfig('endpointUrl') ?? process.env.AWS_ENDPOINT_URL,
    yes: truthy(raw.yes),
    color: colourWanted(raw.color !== false),
    verbose: truthy(raw.verbose),
    cwd: resolve(String(raw.cwd ?? process.cwd())),
  };
  if (!(TARGET_NAMES as readonly string[]).includes(globals.target)) throw badInput(`target "${globals.target}" is not local or aws`, 'use --target local or --target aws');
  const stageInvalid = stageProblem(globals.stage);
  if (stageInvalid) throw badInput(stageInvalid, 'a stage is 1–12 characters of a-z and 0-9, starting with a letter but not with aws or ssm');
  return globals;
}

async function createContext(program: Command, options: { diagnoses: boolean }): Promise<CommandContext> {
  const raw = program.opts<Record<string, unknown>>();
  const cwd = resolve(String(raw.cwd ?? process.cwd()));
  let project: Project | undefined;
  let projectError: unknown;
  const { loadProject } = await import('./project.js');
  try {
    project = await loadProject(cwd);
  } catch (error) {
    projectError = error;
  }
  const globals = resolveGlobals(program, () => {
    // a broken config file is an error for any command that reads it
    if (!options.diagnoses && !project && projectError instanceof UserError && projectError.exitCode === ExitCode.badInput) throw projectError;
    return project;
  });
  const interactive = Boolean(process.stderr.isTTY && process.stdin.isTTY) && !process.env.CI;
  const out = new Output({ json: globals.json, color: globals.color, verbose: globals.verbose, interactive });
  const { openTarget } = await import('./targets/index.js');
  const ctx: CommandContext = {
    globals,
    out,
    project() {
      if (!project) throw projectError;
      return project;
    },
    target() {
      return target;
    },
    state() {
      return target.state();
    },
    canConfirm() {
      return globals.yes || interactive;
    },
    async confirm(question) {
      if (globals.yes) return true;
      if (!interactive) throw badInput(`${question}: this needs confirmation, and there is no terminal to ask`, 'pass --yes (or set SOVEREIGN_YES=1) to confirm');
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
  };
  // The one place a target's name becomes a target; the aws SDK loads only when it is chosen.
  const target = await openTarget(globals.target, { project: () => ctx.project(), globals, out, confirm: (question) => ctx.confirm(question) });
  return ctx;
}

/**
 * How a command of the table is declared: `run` (it is the command on the line: loaded, with its
 * action), `describe` (listed in the help of its group being shown: loaded for its arguments,
 * never run) or `list` (declared by name and summary only).
 */
type Wiring = 'run' | 'describe' | 'list';

function wire(entry: CommandEntry, parent: Command, wiring: Wiring, onRun: (m: CommandModule, c: Command) => void): Promise<void> | void {
  const name = entry.path[entry.path.length - 1]!;
  const command = parent.command(name).description(entry.summary);
  if (wiring === 'list') {
    // Declared for help listings and suggestions only; never run unloaded.
    command.allowUnknownOption().allowExcessArguments();
    return;
  }
  return entry.load().then(({ default: module }) => {
    module.configure(command);
    const examples = module.examples.map((e) => `  $ ${e}`).join('\n');
    command.addHelpText('after', `\nExamples:\n${examples}\n`);
    if (wiring === 'run') onRun(module, command);
  });
}

/** The command `sovereign help <command…>` asks about, if that is the line. */
function helpTopic(argv: string[]): string[] | undefined {
  return commandPathOf(argv)[0] === 'help' ? commandPathOf(argv.slice(argv.indexOf('help') + 1)) : undefined;
}

/** The group whose help is asked for (`sovereign tenant`, `sovereign help tenant keys`), if any. */
export function groupHelpPath(argv: string[]): string[] | undefined {
  const asked = helpTopic(argv) ?? commandPathOf(argv);
  const key = asked.join(' ');
  return key in GROUPS || key in SUBGROUPS ? asked : undefined;
}

/** The program and every command under it. */
function allCommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...allCommands(child)]);
}

/** Builds the program with only the selected command loaded. */
export async function buildProgram(argv: string[], onRun: (m: CommandModule, c: Command) => void): Promise<Command> {
  const program = new Command('sovereign');
  program
    .description('One dedicated serverless stack per tenant: provision, deploy, rotate secrets and prove it to an auditor.')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nExamples:\n  $ sovereign init my-saas\n  $ sovereign tenant create acme --tier premium\n  $ sovereign dev\n  $ sovereign audit log --verify\n');
  addGlobalOptions(program);
  const path = commandPathOf(argv);
  const helpOf = groupHelpPath(argv);
  const topic = helpTopic(argv);
  const groups = new Map<string, Command>();
  for (const [group, summary] of Object.entries(GROUPS)) {
    if (!COMMANDS.some((c) => c.path[0] === group)) continue;
    groups.set(group, program.command(group).description(summary));
  }
  // A subgroup (`tenant keys`) is listed in its group's help where its first verb comes.
  const parentOf = (path: string[]): Command => {
    const key = path.join(' ');
    let parent = groups.get(key);
    if (!parent) groups.set(key, (parent = groups.get(path[0]!)!.command(path[1]!).description(SUBGROUPS[key]!)));
    return parent;
  };
  for (const entry of COMMANDS) {
    const parent = entry.path.length === 1 ? program : parentOf(entry.path.slice(0, -1));
    const selected = entry.path.every((p, i) => path[i] === p);
    const described =
      (helpOf !== undefined && entry.path.length === helpOf.length + 1 && helpOf.every((p, i) => entry.path[i] === p)) ||
      (topic !== undefined && topic.length === entry.path.length && topic.every((p, i) => entry.path[i] === p));
    await wire(entry, parent, selected ? 'run' : described ? 'describe' : 'list', onRun);
  }
  return program;
}

function printError(out: Pick<Output, 'json' | 'paint' | 'stdout' | 'stderr' | 'hasResult'>, message: string, hint: string | undefined, exitCode: number, stack?: string): void {
  out.stderr.write(`${out.paint('red', 'error:')} ${message}\n`);
  if (hint) out.stderr.write(`${out.paint('gray', 'hint:')} ${hint}\n`);
  if (stack) out.stderr.write(`${stack}\n`);
  // A command that already printed its JSON result (a fleet report with failures) keeps stdout to that one document.
  if (out.json && !out.hasResult) out.stdout.write(`${JSON.stringify({ error: { message, hint: hint ?? null, exitCode } }, null, 2)}\n`);
}

/** Runs the CLI and returns the exit code; only `main` exits the process. */
export async function run(argv: string[]): Promise<number> {
  // Before anything else is built: a TAB answers at once, and prints no error (src/completion/).
  if (argv[0] === COMPLETE_COMMAND) return (await import('./completion/print.js')).printCompletions(argv.slice(1));
  // `sovereign help tenant create` is `sovereign tenant create --help`, at any depth.
  if (helpTopic(argv) !== undefined) argv = [...argv.filter((token, i) => !(token === 'help' && i === argv.indexOf('help'))), '--help'];
  const wantsJson = argv.includes('--json') || ['1', 'true'].includes(process.env.SOVEREIGN_JSON ?? '');
  const verbose = argv.includes('--verbose');
  let out: Output = new Output({ json: wantsJson, color: colourWanted(!argv.includes('--no-color')), verbose, interactive: false });
  // Help commander prints as an error (a group without its verb) is help all the same.
  let errorHelp = '';
  if (wantsJson && (argv.includes('--version') || argv.includes('-v'))) {
    process.stdout.write(`${JSON.stringify({ version: packageVersion() })}\n`);
    return ExitCode.ok;
  }
  try {
    let chosen: { module: CommandModule; command: Command } | undefined;
    const program = await buildProgram(argv, (module, command) => {
      command.action(() => {
        chosen = { module, command };
      });
    });
    const capture = { writeErr: (text: string) => (errorHelp += text), writeOut: (text: string) => process.stdout.write(text) };
    program.configureOutput(capture);
    for (const command of allCommands(program)) command.configureOutput(capture);
    await program.parseAsync(argv, { from: 'user' });
    if (!chosen) return ExitCode.ok;
    const { module, command } = chosen;
    // Input is checked before the project or the target is opened: a usage error touches nothing.
    const input = await module.parse(command);
    const ctx = await createContext(program, { diagnoses: module.diagnoses === true });
    out = ctx.out;
    return (await module.run(ctx, input)) ?? ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      // `sovereign`, `sovereign tenant`, `sovereign help tenant`: the help, on stdout, and success.
      if (error.code === 'commander.help') {
        if (errorHelp !== '') process.stdout.write(errorHelp);
        return ExitCode.ok;
      }
      const usage = usageError(error);
      printError(out, usage.message, usage.hint, usage.exitCode);
      return usage.exitCode;
    }
    if (error instanceof UserError) {
      printError(out, error.message, error.hint, error.exitCode, verbose ? error.stack : undefined);
      return error.exitCode;
    }
    // The user's machine, network or AWS setup said no: not a bug, and said as such.
    const environment = environmentError(error);
    if (environment) {
      printError(out, environment.message, environment.hint, environment.exitCode, verbose && error instanceof Error ? error.stack : undefined);
      return environment.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    printError(out, message, verbose ? undefined : 'this is a bug in sovereign; run again with --verbose for the stack trace', ExitCode.failed, verbose && error instanceof Error ? error.stack : undefined);
    return ExitCode.failed;
  }
}

export async function main(argv: string[]): Promise<void> {
  // `sovereign template render acme | head`: a reader that leaves early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const code = await run(argv);
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  await new Promise<void>((done) => process.stderr.write('', () => done()));
  process.exit(code);
}
