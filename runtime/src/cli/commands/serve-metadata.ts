import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** The options of `cloudsync serve-metadata`, declared by its flags below. */
export interface ServeMetadataCommandOptions {
  readonly db?: string;
  readonly port?: string;
  readonly host?: string;
  readonly docs?: string;
  readonly readRateLimit?: string;
}

/**
 * `cloudsync serve-metadata --db <sqlite-file> [--port <n>] [--host 127.0.0.1] [--docs <dir>]
 * [--read-rate-limit <n|off>]`: runs the public metadata API until SIGINT/SIGTERM (then exits 0).
 * Settings are read by `resolveServerOptions` (flags, then the METADATA_* variables) and checked
 * first; the process then becomes the deployed `serve-main.js` with the unit's node flags, so it
 * is the same server in the same memory. The push secret comes from the configuration's
 * CLOUD_SYNC_API_KEY (without it, pushes answer 503).
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("serve-metadata")
    .description("Serve the public metadata API and inventory page from a SQLite file (pushes need CLOUD_SYNC_API_KEY)")
    .option("--db <sqlite-file>", "SQLite database, created if absent (default $METADATA_DB)")
    .option("--port <n>", "TCP port (default $METADATA_PORT or 8787)")
    .option("--host <address>", "listen address (default $METADATA_HOST or 127.0.0.1)")
    .option("--docs <dir>", "directory served under /docs/ (default $METADATA_DOCS_DIR)")
    .option("--read-rate-limit <n>", 'GET requests per second per client, bursts of twice that; "off" disables (default $METADATA_READ_RATE_LIMIT or 50)')
    .action(app.action<ServeMetadataCommandOptions>(async () => (await import("./serve-metadata.run.js")).run));
}
