// The implementation of `cloudsync serve-metadata`, imported by ./serve-metadata.ts only when the
// command runs, so that its dependencies load only then.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MALLOC_ENV, NODE_FLAGS } from "../../metadata/deploy/options.js";
import { resolveServerOptions, serveEnv, type ServerFlags } from "../../metadata/server-options.js";
import type { Run } from "../app.js";
import type { ServeMetadataCommandOptions } from "./serve-metadata.js";

// The deployed entry, beside this module in dist/ (SERVER_ENTRY, relative to a release).
const SERVE_MAIN = fileURLToPath(new URL("../../metadata/serve-main.js", import.meta.url));

/**
 * Runs `cloudsync serve-metadata`: checks the settings as the server reads them (a bad flag or
 * variable fails here, exit 2), then replaces this process with the deployed entry,
 * `node <NODE_FLAGS> serve-main.js <flags>`, the systemd unit's ExecStart, with the unit's
 * MALLOC_ENV: the same code, heap flags, malloc settings and memory as the deployed server, none
 * of the CLI's modules left resident (V8's heap flags cannot change once it runs). The push secret is the configuration's
 * CLOUD_SYNC_API_KEY (file or environment), passed in the environment. Where the platform cannot
 * replace a process (Windows), the entry runs as a child with this terminal, stopped by the same
 * signals.
 */
export const run: Run<ServeMetadataCommandOptions> = async (ctx) => {
  const { db, port, host, docs, readRateLimit } = ctx.opts;
  const given: ServerFlags = { db, port, host, docs, readRateLimit };
  resolveServerOptions(given, ctx.env);
  const apiKey = ctx.config().cloudSync.apiKey;
  const args = [...NODE_FLAGS, SERVE_MAIN];
  for (const [name, value] of [["--db", given.db], ["--port", given.port], ["--host", given.host], ["--docs", given.docs], ["--read-rate-limit", given.readRateLimit]] as const) {
    if (value !== undefined) args.push(name, value);
  }
  // The unit's malloc settings, unless this environment sets its own (as the unit's env file may).
  const env = { ...MALLOC_ENV, ...serveEnv(ctx.env, apiKey) };
  if (typeof process.execve === "function") return process.execve(process.execPath, [process.execPath, ...args], env);
  const child = spawn(process.execPath, args, { env, stdio: "inherit" });
  const stop = (): void => void child.kill("SIGTERM");
  ctx.signal.addEventListener("abort", stop, { once: true });
  const code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
  ctx.signal.removeEventListener("abort", stop);
  ctx.setExitCode(code);
};
