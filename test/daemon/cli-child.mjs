// Runs `cloudsync daemon` / `cloudsync status` from the compiled runtime as a real process, the
// way bin/cloudsync.js would once the lead registers them: `node cli-child.mjs daemon --once …`.
import { Command } from "commander";

const dist = new URL("../../dist/runtime/src/", import.meta.url);
const { createCliApp } = await import(new URL("cli/app.js", dist).href);
const daemon = await import(new URL("cli/commands/daemon.js", dist).href);
const status = await import(new URL("cli/commands/status.js", dist).href);

const app = createCliApp();
const program = new Command("cloudsync").option("--json").option("-q, --quiet").option("--debug").option("-c, --config <file>");
daemon.register(program, app);
status.register(program, app);
await program.parseAsync(process.argv.slice(2), { from: "user" });
process.exit(app.exitCode);
