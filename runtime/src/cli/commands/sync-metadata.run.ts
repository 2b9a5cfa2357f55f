// The implementation of `cloudsync sync-metadata`, imported by ./sync-metadata.ts only when the command runs, so that
// its dependencies load only then.
import { ConfigError } from "../../errors.js";
import { syncMetadata } from "../../metadata/sync.js";
import type { Run } from "../app.js";
import { defaultSyncStatePath } from "../../metadata/sync-state.js";

/** Runs `cloudsync sync-metadata`. */
export const run: Run = async (ctx) => {
  const config = ctx.config();
  const { enabled, endpoint, apiKey } = config.cloudSync;
  if (enabled && !endpoint) throw new ConfigError("CLOUD_SYNC_ENDPOINT", "is required when CLOUD_SYNC_ENABLED=true (the metadata server's base URL, e.g. https://jeffreysanford.us)");
  if (enabled && !apiKey) throw new ConfigError("CLOUD_SYNC_API_KEY", "is required when CLOUD_SYNC_ENABLED=true (the shared push secret, the same as the server's)");
  const result = await syncMetadata({
    enabled,
    endpoint: endpoint ?? "",
    apiKey: apiKey as NonNullable<typeof apiKey>,
    source: { uri: config.mongodbUri, database: String(ctx.opts.database), collection: String(ctx.opts.collection) },
    statePath: ctx.opts.state === undefined ? defaultSyncStatePath() : String(ctx.opts.state),
    full: Boolean(ctx.opts.full),
    watch: Boolean(ctx.opts.watch),
    signal: ctx.signal,
    log: (line) => ctx.out.warn(line),
  });
  ctx.out.result(result, () =>
    result.enabled ? `sync-metadata (${result.mode}): pushed ${result.pushed}, tombstoned ${result.deleted}, unchanged ${result.unchanged}, invalid ${result.invalid}, in ${result.batches} push(es)` : "sync-metadata: disabled (CLOUD_SYNC_ENABLED=false); nothing sent",
  );
};
