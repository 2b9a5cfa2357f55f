import { Command, CommanderError } from "commander";
import { EXIT } from "../errors.js";
import { VERSION } from "../version.js";
import { createCliApp } from "./app.js";
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

Configuration: defaults < --config file (or ./cloudsync.config.json) < environment < flags.
See .env.example and the README for every setting.`;

/** Builds the commander program for one invocation. Exported for tests and --help rendering. */
export function buildProgram(app = createCliApp()): Command {
  const program = new Command("cloudsync")
    .description("Encrypted, verifiable MongoDB backups to a local directory or S3-compatible storage, and a public metadata API.")
    .version(VERSION, "-V, --version")
    .option("--json", "print one JSON document on stdout (results, or {\"error\":…})")
    .option("-q, --quiet", "print only errors")
    .option("--debug", "print stack traces with errors")
    .option("-c, --config <file>", "JSON config file (default ./cloudsync.config.json when present)")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride();
  registerCommands(program, app);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code. Never calls
 * process.exit itself, so it can be tested in-process.
 */
export async function main(argv: string[]): Promise<number> {
  const app = createCliApp();
  const program = buildProgram(app);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return EXIT.ok;
      return EXIT.usage;
    }
    throw err;
  }
  return app.exitCode;
}
