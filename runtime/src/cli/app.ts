import type { Command } from "commander";
import { loadConfig, nameSettingIn, unknownVariableWarnings, type Config, type RawConfig } from "../config/config.js";
import type { DestinationWrappers } from "../destinations/open.js";
import { EXIT, InterruptedError } from "../errors.js";
import { createOutput, type Output } from "./output.js";
import { createProgress, type Progress } from "./progress.js";

/** The values of the global options (declared in main.ts), which every command sees too. */
export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly debug?: boolean;
  readonly config?: string;
}

/** The options of a command that declares none of its own. */
export type NoOptions = Record<never, never>;

/**
 * What every command action receives. `O` is the command's options interface, declared beside
 * its flags in `commands/<name>.ts` (commander's values: `string` for `<value>`, `string[]` for a
 * repeatable flag collected into a default `[]`, `boolean` for a switch, `true` by default for a
 * `--no-…` one); the registration names it (`app.action<O>(…)`), so the implementation cannot read
 * an option the command does not declare.
 */
export interface CommandContext<O extends object = NoOptions> {
  readonly out: Output;
  /** The command's own options merged with the global ones (--json, --debug, --quiet, --config). */
  readonly opts: Readonly<O> & GlobalOptions;
  /**
   * Loads and validates the configuration (defaults < file < environment < `flags`), once per
   * call. `flagNames` maps config keys to the flag spelling used in error messages.
   */
  config(flags?: RawConfig, flagNames?: Partial<Record<keyof RawConfig, string>>): Config;
  /**
   * The environment this invocation reads: `process.env`, or the one a test gave `createCliApp`.
   * Commands take variables from here (or from `config`), never from `process.env` directly.
   */
  readonly env: NodeJS.ProcessEnv;
  /**
   * The wrappers this invocation's destinations get (`destinationOf(config, spec, ctx.destinationWrappers)`):
   * with --debug, one line per storage operation on stderr (`cloudsync: debug: put <destination> <key>: ok in 12 ms`).
   */
  readonly destinationWrappers: DestinationWrappers;
  /** A TTY-only progress line on stderr (silent with --json or --quiet). */
  progress(label: string): Progress;
  /** Aborted on SIGINT/SIGTERM so long work stops cleanly and leaves nothing half-written. */
  readonly signal: AbortSignal;
  /** Reports a non-error failure outcome (e.g. verification found problems) as the exit code. */
  setExitCode(code: number): void;
}

/**
 * A command's implementation: its positional arguments after the context. Each lives in its
 * command's `<name>.run.ts`, which only the action imports (see `CliApp.action`).
 */
export type Run<O extends object = NoOptions> = (ctx: CommandContext<O>, ...args: string[]) => Promise<void>;

/**
 * Shared plumbing for command modules. A command is two modules: `commands/<name>.ts` exports
 * `register(program: Command, app: CliApp): void`, which declares the command's name, flags and
 * help and nothing heavier (every command is registered on every run, for `--help`), and
 * `commands/<name>.run.ts` exports its `Run`, with the dependencies it needs (MongoDB driver, AWS
 * SDK, Fastify, SQLite). The action is `app.action<XOptions>(async () => (await import("./<name>.run.js")).run)`,
 * with `XOptions` the command's options interface from `<name>.ts`:
 * the implementation is imported only when that command runs, so `--version`, `--help` and every
 * other command never load it (test/cli/lazy-load.test.ts checks this).
 */
export interface CliApp {
  /**
   * The commander action for the `Run` that `load` imports: builds the context, imports and runs
   * it, and turns any thrown error (an import failure too) into the documented exit code; the
   * action itself never calls process.exit.
   */
  action<O extends object = NoOptions>(load: () => Promise<Run<O>>): (...args: unknown[]) => Promise<void>;
  /** The exit code the invocation ends with. */
  readonly exitCode: number;
  /** Lets an action report a non-error failure outcome (e.g. verification found problems). */
  setExitCode(code: number): void;
}

/** Creates the CliApp for one invocation. `io` lets tests capture output. */
export function createCliApp(io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {}): CliApp {
  let exitCode: number = EXIT.ok;
  return {
    get exitCode() {
      return exitCode;
    },
    setExitCode(code) {
      exitCode = code;
    },
    action<O extends object>(load: () => Promise<Run<O>>) {
      return async (...raw: unknown[]) => {
        // commander passes (...positional, options, command).
        const command = raw[raw.length - 1] as Command;
        const positional = raw.slice(0, -2).map((a) => (Array.isArray(a) ? a.join(" ") : (a as string)));
        // The one place commander's untyped values meet the command's declaration of them.
        const opts = command.optsWithGlobals() as CommandContext<O>["opts"];
        const out = createOutput({ json: Boolean(opts.json), quiet: Boolean(opts.quiet), debug: Boolean(opts.debug), stdout: io.stdout, stderr: io.stderr });
        const env = io.env ?? process.env;
        for (const w of unknownVariableWarnings(env)) out.warning(w);
        const controller = new AbortController();
        // The last configuration loaded, so an error naming a config key names it as the user spelt it.
        let loaded: Config | undefined;
        const onSignal = (sig: NodeJS.Signals): void => {
          out.warn(`cloudsync: ${sig} received; stopping and cleaning up (press again to force)`);
          controller.abort(new InterruptedError());
          exitCode = EXIT.interrupted;
          process.once(sig, () => {
            out.failure(new InterruptedError(`interrupted again by ${sig}; stopped at once, so temporary files may be left behind`));
            process.exit(EXIT.interrupted);
          });
        };
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        const ctx: CommandContext<O> = {
          out,
          opts,
          env,
          destinationWrappers: opts.debug ? { log: (line) => out.warn(`cloudsync: debug: ${line}`) } : {},
          signal: controller.signal,
          config(flags, flagNames) {
            const config = loadConfig({ configFile: opts.config, env: io.env, flags, flagNames });
            out.addSecrets(config.mongodbUri, config.s3.secretAccessKey, config.cloudSync.apiKey, config.daemon.heartbeatUrl, config.azure.connectionString, config.azure.accountKey, config.azure.sasToken);
            loaded = config;
            return config;
          },
          progress(label) {
            return createProgress(label, !opts.json && !opts.quiet);
          },
          setExitCode(code) {
            exitCode = code;
          },
        };
        try {
          const run = await load();
          await run(ctx, ...positional);
        } catch (err) {
          // Whatever a stopped operation threw (an AbortError, a closed stream), the user pressed
          // Ctrl-C: report the interruption, not a crash.
          const interrupted = !controller.signal.aborted || err instanceof InterruptedError ? err : new InterruptedError(undefined, { cause: err });
          exitCode = out.failure(nameSettingIn(interrupted, loaded));
        } finally {
          process.removeListener("SIGINT", onSignal);
          process.removeListener("SIGTERM", onSignal);
        }
      };
    },
  };
}
