import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { defaultSyncStatePath } from "../../metadata/sync-state.js";
import { syncMetadata } from "../../metadata/sync.js";
import type { CliApp } from "../app.js";

/**
 * `cloudsync sync-metadata [--watch] [--full]`: pushes the public fields of the MongoDB model
 * catalogue (MONGODB_URI) to the metadata server (CLOUD_SYNC_ENDPOINT, signed with
 * CLOUD_SYNC_API_KEY). With CLOUD_SYNC_ENABLED=false it makes no network call and says so.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("sync-metadata")
    .description("Push public model metadata from MongoDB to the metadata server (only what changed)")
    .option("--watch", "keep following changes (change stream, or polling by updatedAt where unsupported)")
    .option("--full", "resync: push every model and tombstone what the server has but the source lacks")
    .option("--state <file>", "sync state file (default $XDG_STATE_HOME/cloudsync/metadata-sync.json)")
    .option("--database <name>", "MongoDB database of the catalogue", "models")
    .option("--collection <name>", "MongoDB collection of the catalogue", "models")
    .action(
      app.action(async (ctx) => {
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
      }),
    );
}
