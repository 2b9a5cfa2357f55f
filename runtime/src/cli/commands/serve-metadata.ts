import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { createMetadataServer } from "../../metadata/server.js";
import type { CliApp } from "../app.js";

/**
 * `cloudsync serve-metadata --db <sqlite-file> [--port <n>] [--host 127.0.0.1] [--docs <dir>]`:
 * runs the public metadata API until SIGINT/SIGTERM. The push secret comes from
 * CLOUD_SYNC_API_KEY (without it, pushes answer 503). On a host, systemd runs the smaller
 * `dist/runtime/src/metadata/serve-main.js` entry instead (see the deploy artefacts).
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("serve-metadata")
    .description("Serve the public metadata API and inventory page from a SQLite file (pushes need CLOUD_SYNC_API_KEY)")
    .requiredOption("--db <sqlite-file>", "SQLite database (created if absent)")
    .option("--port <n>", "TCP port", "8787")
    .option("--host <address>", "listen address", "127.0.0.1")
    .option("--docs <dir>", "directory served under /docs/")
    .action(
      app.action(async (ctx) => {
        const port = Number(ctx.opts.port);
        if (!/^\d{1,5}$/.test(String(ctx.opts.port)) || port > 65535) throw new ConfigError("--port", `must be a port number 0-65535 (got ${JSON.stringify(ctx.opts.port)})`);
        const config = ctx.config();
        const server = await createMetadataServer({
          dbPath: String(ctx.opts.db),
          port,
          host: String(ctx.opts.host),
          docsDir: ctx.opts.docs === undefined ? undefined : String(ctx.opts.docs),
          apiKey: config.cloudSync.apiKey,
          log: (line) => ctx.out.warn(line),
        });
        if (!config.cloudSync.apiKey) ctx.out.warn("serve-metadata: CLOUD_SYNC_API_KEY is not set; pushes are disabled (503)");
        ctx.out.info(`serve-metadata: listening on ${server.url} (database ${String(ctx.opts.db)})`);
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        await server.close();
      }),
    );
}
