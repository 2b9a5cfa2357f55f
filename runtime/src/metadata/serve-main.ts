/**
 * Process entry of the deployed metadata server (`node dist/runtime/src/metadata/serve-main.js`),
 * what the systemd unit's ExecStart runs and what `cloudsync serve-metadata` replaces itself with.
 * It imports only the server and its dependencies (Fastify, better-sqlite3), not the CLI, to keep
 * the resident set small.
 *
 * Settings: flags `--db`, `--port`, `--host`, `--docs`, `--read-rate-limit`, each falling back to
 * the environment (`METADATA_DB`, `METADATA_PORT`, `METADATA_HOST`, `METADATA_DOCS_DIR`,
 * `METADATA_READ_RATE_LIMIT`, `METADATA_TRUST_PROXY`, `CLOUD_SYNC_API_KEY`), read by the same
 * `resolveServerOptions` as `cloudsync serve-metadata`. Prints `metadata: listening on <url>` once ready; exits 0 on
 * SIGTERM/SIGINT after closing, 2 on a configuration error (`metadata: <field>: <problem>`), 1 when
 * it cannot start otherwise (port in use, unreadable database).
 *
 * `CLOUDSYNC_FAULT_PUSH_DELAY_MS` is fault injection for the kill -9 test: the process sleeps
 * that long inside the push transaction (after announcing it on stderr), so the test can kill it
 * with the transaction provably open. Nothing else reads it.
 */
import { writeSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { createMetadataServer, type MetadataServer, type MetadataServerOptions } from "./server.js";
import { serverOptionsFrom } from "./server-options.js";

async function run(): Promise<void> {
  const stderr = (line: string): void => {
    writeSync(2, `${line}\n`);
  };
  let options: MetadataServerOptions;
  try {
    options = serverOptionsFrom(process.argv.slice(2), process.env);
  } catch (err) {
    stderr(`metadata: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const delay = Number(process.env.CLOUDSYNC_FAULT_PUSH_DELAY_MS ?? 0);
  const faults = delay > 0 ? { midPush: () => (stderr("metadata: fault: push transaction open"), Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay)) } : undefined;
  let server: MetadataServer;
  try {
    server = await createMetadataServer({ ...options, log: stderr, faults });
  } catch (err) {
    // A short API key is a setting to fix (2); a port in use or an unreadable database is not (1).
    stderr(`metadata: ${(err as Error).message}`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
    return;
  }
  if (!options.apiKey) stderr("metadata: CLOUD_SYNC_API_KEY is not set; pushes are disabled (503)");
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  // Handlers first: a supervisor that signals as soon as it reads the line below must meet them,
  // not the default action (a process preempted between the write and the handlers died of it).
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  writeSync(1, `metadata: listening on ${server.url}\n`);
}

await run();
