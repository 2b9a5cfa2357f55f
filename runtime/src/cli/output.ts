import { inspect } from "node:util";
import { CloudsyncError, ConfigError, exitCodeFor } from "../errors.js";
import { redactText, type Secret } from "../secret.js";

/**
 * How a command talks to the user. Human text goes to stdout, diagnostics to stderr; with
 * `--json` stdout carries exactly one JSON document (the result, or `{ "error": … }`), so
 * scripts can parse it. Every string passes through the redactor first.
 */
export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** A line of human output (suppressed with --json and --quiet). */
  info(line: string): void;
  /** A warning on stderr (kept with --json; suppressed with --quiet). */
  warn(line: string): void;
  /** The command's result: `human` printed as text, or `data` printed as JSON with --json. */
  result(data: unknown, human: () => string): void;
  /** Reports a failure and returns the exit code to use. */
  failure(err: unknown): number;
  /** Registers secret values that must never be printed, whatever the path. */
  addSecrets(...secrets: Array<Secret | string | undefined>): void;
}

export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

/** Creates the Output for one CLI invocation. */
export function createOutput(opts: OutputOptions): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const secrets: Array<Secret | string | undefined> = [];
  const clean = (s: string): string => redactText(s, secrets);
  return {
    json: opts.json,
    quiet: opts.quiet,
    info(line) {
      if (!opts.json && !opts.quiet) stdout.write(clean(line) + "\n");
    },
    warn(line) {
      if (!opts.quiet) stderr.write(clean(line) + "\n");
    },
    result(data, human) {
      if (opts.json) stdout.write(clean(JSON.stringify(data, null, 2)) + "\n");
      else if (!opts.quiet) {
        const text = human();
        if (text) stdout.write(clean(text) + (text.endsWith("\n") ? "" : "\n"));
      }
    },
    failure(err) {
      const code = exitCodeFor(err);
      const message = err instanceof Error ? err.message : String(err);
      const kind = err instanceof CloudsyncError ? err.code : "error";
      if (opts.json) {
        const error: Record<string, unknown> = { code: kind, exitCode: code, message: clean(message) };
        if (err instanceof ConfigError) error.field = err.field;
        stdout.write(clean(JSON.stringify({ error }, null, 2)) + "\n");
      }
      stderr.write(`cloudsync: ${clean(message)}\n`);
      if (opts.debug) stderr.write(clean(inspect(err, { depth: 6 })) + "\n");
      else if (!(err instanceof CloudsyncError)) stderr.write("(an unexpected error: run again with --debug for the stack trace, and please report it)\n");
      return code;
    },
    addSecrets(...s) {
      secrets.push(...s);
    },
  };
}
