import { Writable } from "node:stream";
import { Command, CommanderError } from "commander";
import { EXIT, UsageError } from "../errors.js";
import { redactText } from "../secret.js";
import { VERSION } from "../version.js";
import { createCliApp } from "./app.js";
import { createOutput } from "./output.js";
import { registerCommands } from "./commands/index.js";

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    unexpected failure (run with --debug and report it)
  2    usage or configuration error (the message names the flag, variable or key)
  3    not found (backup id, object, namespace)
  4    integrity error (checksum, CRC, size or authentication tag mismatch; truncated data)
  5    remote error after retries (storage, MongoDB, HTTP)
  6    authentication error (wrong identity, passphrase or credentials)
  7    busy (another run holds the lock)
  8    local I/O error (disk full, permission denied)
  130  interrupted (SIGINT/SIGTERM); nothing half-written is left behind

With --json, stdout holds exactly one JSON document, whatever happens: the result, or
{"error": {"code", "exitCode", "message"}} (usage errors too), or {"version"} for --version;
warnings (e.g. an unknown CLOUDSYNC_* variable) also go in its "warnings" array. --help stays
text. A closed stdout (| head) ends the run quietly.

Configuration: defaults < --config file (or ./cloudsync.config.json) < environment < flags.
See .env.example and the README for every setting.`;

/** Builds the commander program for one invocation. Exported for tests and --help rendering. */
export function buildProgram(app = createCliApp()): Command {
  const program = new Command("cloudsync")
    .description("Encrypted, verifiable MongoDB backups to a local directory or S3-compatible storage, and a public metadata API.")
    .version(VERSION, "-V, --version")
    .option("--json", "print one JSON document on stdout (results, or {\"error\":…})")
    .option("-q, --quiet", "print only errors")
    .option("--debug", "print stack traces with errors, and one line per storage operation (put, get, list, delete: key, outcome, time) on stderr")
    .option("-c, --config <file>", "JSON config file (default ./cloudsync.config.json when present)")
    // commander echoes what it could not parse (an age key pasted as a command, say): redact it
    // like everything else printed. Set before the commands are added, which copy it.
    .configureOutput({ outputError: (text, write) => write(redactText(text, [])) })
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride();
  registerCommands(program, app);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code. Never calls
 * process.exit itself (so it can be tested in-process), except to end quietly when the reader of
 * stdout or stderr has gone (EPIPE, as in `cloudsync list | head -1`), the way Unix tools do.
 *
 * With `--json`, stdout carries exactly one JSON document whatever happens: the result, an
 * `{ "error": … }` document (usage errors included), or `{ "version": … }` for --version.
 * Only --help stays text, since it is written for people.
 */
export async function main(argv: string[]): Promise<number> {
  const app = createCliApp();
  endQuietlyOnClosedOutput(() => app.exitCode);
  const program = buildProgram(app);
  const json = wantsJson(argv);
  // With --json the root's own text output (only --version and --help use it) is held back, so
  // --version can answer in JSON instead.
  let rootText = "";
  if (json) program.configureOutput({ writeOut: (s) => void (rootText += s) });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === "commander.version") {
      process.stdout.write(json ? JSON.stringify({ version: VERSION }, null, 2) + "\n" : "");
      return EXIT.ok;
    }
    process.stdout.write(rootText);
    if (err.code === "commander.helpDisplayed" || (err.code === "commander.help" && err.exitCode === 0)) return EXIT.ok;
    // A usage error, or help shown because a command is missing: commander has explained it on
    // stderr already; --json also gets it as a document.
    const message = err.code === "commander.help" ? "no command given; run with --help for the list of commands" : err.message.replace(/^error: /, "");
    if (json) createOutput({ json: true, quiet: false, debug: false, stderr: nowhere }).failure(new UsageError(message));
    return EXIT.usage;
  }
  return app.exitCode;
}

// stderr for an Output whose message commander has already printed.
const nowhere = new Writable({ write: (_chunk, _enc, done) => done() });

/** True when `--json` is among the options (before a `--` that ends them). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

let guarded = false;

/**
 * When the reader of stdout or stderr closes it (`| head -1`), further writes fail with EPIPE;
 * unhandled, that is a stack trace and exit 1. Exit quietly instead, with the code the run had so
 * far (0 unless it had already failed).
 */
function endQuietlyOnClosedOutput(code: () => number): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(code());
      throw err;
    });
  }
}
