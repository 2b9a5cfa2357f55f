// Runs one command module in-process, as the CLI would, with stdout and stderr captured: for
// command tests that need no compiled dist/ and no child process.
import { Writable } from "node:stream";
import { Command } from "commander";
import { createCliApp, type CliApp } from "../../runtime/src/cli/app.js";

/** Captured outcome of one in-process command run. */
export interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  let out = "";
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    }),
    text: () => out,
  };
}

/**
 * Parses `args` (e.g. `["migrate", "--from", …]`) against a program holding only `register`'s
 * command. `env` is the whole environment the configuration reads (default: empty, so nothing of
 * the developer's own settings leaks in).
 */
export async function runCommand(register: (program: Command, app: CliApp) => void, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CommandRun> {
  const stdout = sink();
  const stderr = sink();
  const app = createCliApp({ stdout: stdout.stream, stderr: stderr.stream, env: options.env ?? {} });
  const program = new Command("cloudsync").option("--json").option("-q, --quiet").option("--debug").option("-c, --config <file>").exitOverride();
  register(program, app);
  for (const sub of program.commands) sub.exitOverride();
  await program.parseAsync(args, { from: "user" });
  return { code: app.exitCode, stdout: stdout.text(), stderr: stderr.text() };
}
