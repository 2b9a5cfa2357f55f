import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** The options of `cloudsync sync-metadata`, declared by its flags below. */
export interface SyncMetadataCommandOptions {
  readonly watch?: boolean;
  readonly full?: boolean;
  readonly state?: string;
  readonly database: string;
  readonly collection: string;
}

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
    .action(app.action<SyncMetadataCommandOptions>(async () => (await import("./sync-metadata.run.js")).run));
}
