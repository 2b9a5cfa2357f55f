import type { Command } from "commander";
import { loadConfig, unknownVariableWarnings, type Config, type RawConfig } from "../config/config.js";
import { EXIT, InterruptedError } from "../errors.js";
import { createOutput, type Output } from "./output.js";
import { createProgress, type Progress } from "./progress.js";

/** What every command action receives. */
export interface CommandContext {
  readonly out: Output;
  /** The command's own options merged with the global ones (--json, --debug, --quiet, --config). */
  readonly opts: Record<string, unknown>;
  /**
   * Loads and validates the configuration (defaults < file < environment < `flags`), once per
   * call. `flagNames` maps config keys to the flag spelling used in error messages.
   */
  config(flags?: RawConfig, flagNames?: Partial<Record<keyof RawConfig, string>>): Config;
  /** A TTY-only progress line on stderr (silent with --json or --quiet). */
  progress(label: string): Progress;
  /** Aborted on SIGINT/SIGTERM so long work stops cleanly and leaves nothing half-written. */
  readonly signal: AbortSignal;
}

/**
 * Shared plumbing for command modules. A command module exports
 * `register(program: Command, app: CliApp): void` and wraps its action with `app.action`, which
 * builds the context, runs the action, and turns any thrown error into the documented exit code
 * (the action itself never calls process.exit).
 */
export interface CliApp {
  action(fn: (ctx: CommandContext, ...args: string[]) => Promise<void>): (...args: unknown[]) => Promise<void>;
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
    action(fn) {
      return async (...raw: unknown[]) => {
        // commander passes (...positional, options, command).
        const command = raw[raw.length - 1] as Command;
        const positional = raw.slice(0, -2).map((a) => (Array.isArray(a) ? a.join(" ") : (a as string)));
        const opts = command.optsWithGlobals() as Record<string, unknown>;
        const out = createOutput({ json: Boolean(opts.json), quiet: Boolean(opts.quiet), debug: Boolean(opts.debug), stdout: io.stdout, stderr: io.stderr });
        for (const w of unknownVariableWarnings(io.env ?? process.env)) out.warning(w);
        const controller = new AbortController();
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
        const ctx: CommandContext = {
          out,
          opts,
          signal: controller.signal,
          config(flags, flagNames) {
            const config = loadConfig({ configFile: opts.config as string | undefined, env: io.env, flags, flagNames });
            out.addSecrets(config.mongodbUri, config.s3.secretAccessKey, config.cloudSync.apiKey, config.azure.connectionString, config.azure.accountKey, config.azure.sasToken);
            return config;
          },
          progress(label) {
            return createProgress(label, !opts.json && !opts.quiet);
          },
        };
        try {
          await fn(ctx, ...positional);
        } catch (err) {
          // Whatever a stopped operation threw (an AbortError, a closed stream), the user pressed
          // Ctrl-C: report the interruption, not a crash.
          const interrupted = !controller.signal.aborted || err instanceof InterruptedError ? err : new InterruptedError(undefined, { cause: err });
          exitCode = out.failure(interrupted);
        } finally {
          process.removeListener("SIGINT", onSignal);
          process.removeListener("SIGTERM", onSignal);
        }
      };
    },
  };
}
