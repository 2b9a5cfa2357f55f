/**
 * The programmatic API for an application's own server (the seed's NestJS `CloudSyncService`):
 * push public model metadata, upload a mongodump archive as an encrypted backup, and ask whether
 * cloud sync is on. Same validation, pipeline, destinations and sync client as the CLI.
 */
import { compressionOf, ENVIRONMENT, loadConfig, type Config, type LoadOptions, type RawConfig } from "./config/config.js";
import type { Destination } from "./destinations/destination.js";
import { destinationOf } from "./destinations/from-config.js";
import { ConfigError, describeLocalIO } from "./errors.js";
import type { PublicModel } from "./metadata/public-schema.js";
import { defaultSyncStatePath } from "./metadata/sync-state.js";
import { syncMetadata, type SyncResult } from "./metadata/sync.js";
import { runBackupPipeline } from "./pipeline/backup.js";
import { openArchiveSource } from "./pipeline/archive-source.js";
import { planEncryption } from "./pipeline/encryption.js";
import { Secret } from "./secret.js";

export type { PublicModel } from "./metadata/public-schema.js";
export type { SyncResult } from "./metadata/sync.js";

/**
 * The seed's `SyncConfig`. Validated exactly as `CLOUD_SYNC_ENABLED`, `CLOUD_SYNC_PROVIDER`,
 * `CLOUD_SYNC_ENDPOINT`, `CLOUD_SYNC_API_KEY` and `CLOUD_SYNC_BUCKET` are for the CLI (same
 * messages), with errors naming these field names instead of the variables.
 */
export interface SyncConfig {
  /** `none | jeffreysanford | s3 | backblaze | gcs`. */
  readonly provider: string;
  /**
   * jeffreysanford: the metadata server's base URL. s3/backblaze/gcs: the S3 endpoint (e.g.
   * https://s3.us-west-004.backblazeb2.com); CLOUDSYNC_S3_ENDPOINT in `env` wins when set.
   */
  readonly endpoint?: string;
  /** jeffreysanford: the shared push secret. Unused by the S3 providers (their keys are AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). */
  readonly apiKey?: string | Secret;
  /** s3/backblaze/gcs: `bucket` or `bucket/prefix` that backups go to. */
  readonly bucket?: string;
  readonly enabled: boolean;
}

/** Optional plumbing around `SyncConfig`. */
export interface CloudSyncOptions {
  /**
   * The environment layer for everything else (recipients, S3 credentials and region,
   * destination, compression), read exactly as the CLI reads it. Default `process.env`. Its
   * CLOUD_SYNC_* variables are ignored: `SyncConfig` is the authority for those.
   */
  readonly env?: NodeJS.ProcessEnv;
  /** A JSON config file, as `cloudsync --config`; default: CLOUDSYNC_CONFIG or ./cloudsync.config.json when present. */
  readonly configFile?: string;
  /** Metadata sync state file; default `$XDG_STATE_HOME/cloudsync/metadata-sync.json`, as the CLI. */
  readonly statePath?: string;
  /** Progress lines (never secrets). Default: silent. */
  readonly log?: (line: string) => void;
}

/** What `uploadBackup` stored. */
export interface UploadedBackup {
  readonly id: string;
  /** Object key in the destination, e.g. `data/20261124T221500Z-3fa9c1.archive.gz.age`. */
  readonly key: string;
  /** SHA-256 (hex) of the stored object, confirmed against what the destination received. */
  readonly sha256: string;
  /** Bytes of the stored object. */
  readonly size: number;
  readonly manifestKey: string;
  /** The destination, e.g. `s3://bucket/prefix` or a local path. */
  readonly destination: string;
}

/** The service: one per configuration; safe to share between requests. */
export interface CloudSync {
  /** SyncConfig.enabled, as validated. */
  isEnabled(): boolean;
  /**
   * Pushes the public fields of `data` (the whole catalogue: ids pushed before and absent now
   * are tombstoned) to the metadata server, sending only what changed since the last
   * acknowledged push. Disabled: resolves `{ enabled: false, mode: "disabled", … }` without a
   * network call. Throws ConfigError when the provider is not jeffreysanford, AuthError on 401,
   * RemoteError when the server refuses or stays unreachable after retries.
   */
  syncMetadata(data: PublicModel[] | AsyncIterable<PublicModel>, opts?: { signal?: AbortSignal }): Promise<SyncResult>;
  /**
   * Streams the mongodump archive at `filePath` through verify → compress → encrypt → SHA-256 into
   * the destination (s3://`bucket` for s3/backblaze/gcs, else CLOUDSYNC_DESTINATION), writing the
   * manifest last: when it resolves, the backup is listed and restorable. Encryption as the CLI:
   * CLOUDSYNC_RECIPIENTS (or passphrase / OpenPGP settings) from `env` or the config file.
   * Throws ConfigError("enabled") when disabled, ConfigError("filePath") for an unreadable file,
   * IntegrityError for a damaged archive; nothing is listed after a failure.
   */
  uploadBackup(filePath: string, opts?: { signal?: AbortSignal }): Promise<UploadedBackup>;
}

const FIELD_NAMES: Partial<Record<keyof RawConfig, string>> = {
  cloudSyncEnabled: "enabled",
  cloudSyncProvider: "provider",
  cloudSyncEndpoint: "endpoint",
  cloudSyncApiKey: "apiKey",
  cloudSyncBucket: "bucket",
};

/**
 * Validates `config` (with the environment and config file for everything else) and returns the
 * service. Throws ConfigError, naming the SyncConfig field (`provider`, `endpoint`, …) or the
 * variable, with the message the CLI gives for the same mistake. Connects to nothing.
 */
export function createCloudSync(config: SyncConfig, options: CloudSyncOptions = {}): CloudSync {
  const env: NodeJS.ProcessEnv = {};
  const syncKeys = new Set(Object.keys(FIELD_NAMES));
  for (const [k, v] of Object.entries(options.env ?? process.env)) {
    const key = ENVIRONMENT[k];
    if (!(key && syncKeys.has(key))) env[k] = v;
  }
  const flags: RawConfig = {
    cloudSyncEnabled: typeof config.enabled === "boolean" ? config.enabled : String(config.enabled as unknown),
    cloudSyncProvider: config.provider,
    cloudSyncEndpoint: config.endpoint,
    cloudSyncApiKey: config.apiKey instanceof Secret ? config.apiKey.reveal() : config.apiKey,
    cloudSyncBucket: config.bucket,
  };
  const loaded = loadSyncConfig({ env, configFile: options.configFile, flags, flagNames: FIELD_NAMES });
  const log = options.log ?? (() => undefined);
  const s3Providers = new Set(["s3", "backblaze", "gcs"]);
  const sync = loaded.cloudSync;
  if (sync.enabled && s3Providers.has(sync.provider) && !sync.bucket) throw new ConfigError("bucket", `is required when the provider is ${sync.provider} (the bucket backups go to, optionally bucket/prefix)`);

  return {
    isEnabled: () => sync.enabled,

    async syncMetadata(data, opts = {}) {
      if (sync.enabled && sync.provider !== "jeffreysanford") throw new ConfigError("provider", `syncMetadata pushes to the metadata server, so the provider must be jeffreysanford, got "${sync.provider}"`);
      const source = Array.isArray(data) ? iterate(data) : (data as AsyncIterable<PublicModel>);
      return syncMetadata({
        enabled: sync.enabled,
        endpoint: sync.endpoint ?? "",
        apiKey: sync.apiKey ?? new Secret(""),
        source,
        statePath: options.statePath ?? defaultSyncStatePath(env),
        signal: opts.signal,
        log,
      });
    },

    async uploadBackup(filePath, opts = {}) {
      if (!sync.enabled) throw new ConfigError("enabled", "is false: cloud sync is off, so uploadBackup uploads nothing (check isEnabled() first)");
      const archive = await openArchiveSource(filePath, "filePath");
      const encryption = await planEncryption(loaded);
      const dest = destinationFor(loaded);
      const result = await runBackupPipeline({
        source: archive.source,
        sourceInfo: archive.info,
        destination: dest,
        compression: compressionOf(loaded),
        encryption,
        signal: opts.signal,
      }).catch((err: unknown) => {
        throw describeLocalIO(err, `backup to ${dest.url}`);
      });
      const m = result.manifest;
      log(`cloudsync: backup ${m.id} stored in ${dest.url} (${m.object.size} bytes)`);
      return { id: m.id, key: m.object.key, sha256: m.object.sha256, size: m.object.size, manifestKey: result.manifestKey, destination: dest.url };
    },
  };
}

/** s3://bucket for the S3 providers (endpoint from CLOUDSYNC_S3_ENDPOINT, else SyncConfig.endpoint; GCS's XML API by default), else the configured destination. */
function destinationFor(config: Config): Destination {
  const sync = config.cloudSync;
  if (sync.bucket && (sync.provider === "s3" || sync.provider === "backblaze" || sync.provider === "gcs")) {
    const endpoint = config.s3.endpoint ?? sync.endpoint ?? (sync.provider === "gcs" ? "https://storage.googleapis.com" : undefined);
    return destinationOf({ ...config, s3: { ...config.s3, endpoint } }, `s3://${sync.bucket}`);
  }
  return destinationOf(config);
}

/**
 * loadConfig, with the cloud-sync settings named as SyncConfig fields: a setting that was not
 * given at all is named by its variable there (CLOUD_SYNC_ENDPOINT), which a library caller
 * never set.
 */
function loadSyncConfig(opts: LoadOptions): Config {
  const rename = (name: string): string => {
    const key = ENVIRONMENT[name];
    return (key && FIELD_NAMES[key]) ?? name;
  };
  try {
    return loadConfig(opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const body = err.message.slice(err.field.length + 2).replace(/^(\s+)(CLOUD_SYNC_[A-Z_]+):/gm, (_m, space: string, name: string) => `${space}${rename(name)}:`);
    throw new ConfigError(rename(err.field), body, { cause: err });
  }
}

async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}
