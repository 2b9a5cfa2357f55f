import { inspect } from "node:util";
import { CloudsyncError, ConfigError, EXIT, exitCodeFor, InternalError } from "../errors.js";
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
  /** A diagnostic line on stderr (kept with --json; suppressed with --quiet). */
  warn(line: string): void;
  /**
   * A warning about the invocation itself (e.g. an unknown variable): `cloudsync: warning: …` on
   * stderr (suppressed with --quiet), and
   * with --json also in the document's `warnings` array (when the document is an object).
   */
  warning(message: string): void;
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
  const warnings: string[] = [];
  const clean = (s: string): string => redactText(s, secrets);
  const printJson = (doc: unknown): void => {
    const withWarnings = warnings.length > 0 && doc !== null && typeof doc === "object" && !Array.isArray(doc) ? { ...doc, warnings } : doc;
    stdout.write(clean(JSON.stringify(withWarnings, null, 2)) + "\n");
  };
  return {
    json: opts.json,
    quiet: opts.quiet,
    info(line) {
      if (!opts.json && !opts.quiet) stdout.write(clean(line) + "\n");
    },
    warn(line) {
      if (!opts.quiet) stderr.write(clean(line) + "\n");
    },
    warning(message) {
      warnings.push(message);
      if (!opts.quiet) stderr.write(`cloudsync: warning: ${clean(message)}\n`);
    },
    result(data, human) {
      if (opts.json) printJson(data);
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
        printJson({ error });
      }
      stderr.write(`cloudsync: ${clean(message)}\n`);
      if (opts.debug) stderr.write(clean(inspect(err, { depth: 6 })) + "\n");
      else if ((!(err instanceof CloudsyncError) || err instanceof InternalError) && code === EXIT.failure) stderr.write("(an unexpected error: run again with --debug for the stack trace, and please report it)\n");
      return code;
    },
    addSecrets(...s) {
      secrets.push(...s);
    },
  };
}
