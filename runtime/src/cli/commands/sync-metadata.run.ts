// The implementation of `cloudsync sync-metadata`, imported by ./sync-metadata.ts only when the command runs, so that
// its dependencies load only then.
import { ConfigError } from "../../errors.js";
import { syncMetadata } from "../../metadata/sync.js";
import { Secret } from "../../secret.js";
import type { Run } from "../app.js";
import type { SyncMetadataCommandOptions } from "./sync-metadata.js";
import { defaultSyncStatePath } from "../../metadata/sync-state.js";

/** Runs `cloudsync sync-metadata`. */
export const run: Run<SyncMetadataCommandOptions> = async (ctx) => {
  const config = ctx.config();
  const { enabled, endpoint, apiKey } = config.cloudSync;
  if (enabled && !endpoint) throw new ConfigError("CLOUD_SYNC_ENDPOINT", "is required when CLOUD_SYNC_ENABLED=true (the metadata server's base URL, e.g. https://jeffreysanford.us)");
  if (enabled && !apiKey) throw new ConfigError("CLOUD_SYNC_API_KEY", "is required when CLOUD_SYNC_ENABLED=true (the shared push secret, the same as the server's)");
  const result = await syncMetadata({
    enabled,
    endpoint: endpoint ?? "",
    // Disabled, nothing is pushed and the key is never used (as the library's syncMetadata does).
    apiKey: apiKey ?? new Secret(""),
    source: { uri: config.mongodbUri, database: ctx.opts.database, collection: ctx.opts.collection },
    statePath: ctx.opts.state ?? defaultSyncStatePath(),
    full: Boolean(ctx.opts.full),
    watch: Boolean(ctx.opts.watch),
    signal: ctx.signal,
    log: (line) => ctx.out.warn(line),
  });
  ctx.out.result(result, () =>
    result.enabled ? `sync-metadata (${result.mode}): pushed ${result.pushed}, tombstoned ${result.deleted}, unchanged ${result.unchanged}, invalid ${result.invalid}, in ${result.batches} push(es)` : "sync-metadata: disabled (CLOUD_SYNC_ENABLED=false); nothing sent",
  );
};
