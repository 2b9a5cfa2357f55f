// The implementation of `cloudsync serve-metadata`, imported by ./serve-metadata.ts only when the command runs, so that
// its dependencies load only then.
import { createMetadataServer } from "../../metadata/server.js";
import { resolveServerOptions } from "../../metadata/server-options.js";
import type { Run } from "../app.js";

/** Runs `cloudsync serve-metadata`. */
export const run: Run = async (ctx) => {
  const flag = (name: string): string | undefined => (ctx.opts[name] === undefined ? undefined : String(ctx.opts[name]));
  const options = resolveServerOptions({ db: flag("db"), port: flag("port"), host: flag("host"), docs: flag("docs"), readRateLimit: flag("readRateLimit") }, process.env);
  const config = ctx.config();
  const server = await createMetadataServer({ ...options, apiKey: config.cloudSync.apiKey, log: (line) => ctx.out.warn(line) });
  if (!config.cloudSync.apiKey) ctx.out.warn("serve-metadata: CLOUD_SYNC_API_KEY is not set; pushes are disabled (503)");
  ctx.out.info(`serve-metadata: listening on ${server.url} (database ${options.dbPath})`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await server.close();
};
