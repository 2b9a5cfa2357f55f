import type { Command } from "commander";
import { DEFAULTS } from "../../config/config.js";
import { DURATION_DOC } from "../../config/duration.js";
import type { CliApp } from "../app.js";
import { addEncryptionFlags, collect, type EncryptionFlagOptions } from "../common.js";

/** The options of `cloudsync daemon`, declared by its flags below. */
export interface DaemonCommandOptions extends EncryptionFlagOptions {
  readonly schedule?: string;
  readonly jitter?: string;
  readonly once?: boolean;
  readonly runNow?: boolean;
  readonly stateDir?: string;
  readonly metricsPort?: string;
  readonly metricsHost?: string;
  /** `--no-metrics` makes it false. */
  readonly metrics: boolean;
  readonly heartbeatUrl?: string;
  readonly uri?: string;
  readonly include: string[];
  readonly exclude: string[];
  readonly fromArchive?: string;
  readonly to?: string;
  readonly cloudTo?: string;
  readonly identity: string[];
  readonly compress?: string;
  readonly gzipLevel?: string;
  readonly oplogFollow?: boolean;
  readonly slice?: string;
  readonly sliceSize?: string;
}

/**
 * `cloudsync daemon`: scheduled backup → verify → prune → cloud upload → metadata sync, one run
 * at a time (lock file), with Prometheus metrics, a heartbeat URL and status.json for
 * `cloudsync status`. Settings come from `loadConfig` (flags, else the environment the BackupAgent
 * container passes, such as CLOUDSYNC_SCHEDULE, CLOUDSYNC_DESTINATION, CLOUDSYNC_RECIPIENTS,
 * CLOUD_SYNC_* and CLOUDSYNC_CLOUD_PREFIX, else the config file, else the defaults), all
 * validated before the first run.
 */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("daemon")
    .description("Run backups on a schedule: backup → verify → prune → cloud upload → metadata sync, with metrics, heartbeat and status")
    .option("--schedule <cron>", `five-field cron expression in UTC (default CLOUDSYNC_SCHEDULE, else "${DEFAULTS.schedule}")`)
    .option("--jitter <duration>", `random delay 0..duration added to each scheduled run, e.g. 10m (minutes) or 1h; ${DURATION_DOC} (default CLOUDSYNC_JITTER, else 0)`)
    .option("--once", "run once now and exit (exit code of the first failed stage; 7 if another run holds the lock)")
    .option("--run-now", "run once at start, then follow the schedule")
    .option("--state-dir <dir>", "status.json, metrics.prom and the lock (default CLOUDSYNC_STATE_DIR, else $XDG_STATE_HOME/cloudsync)")
    .option("--metrics-port <port>", `serve Prometheus /metrics on this port (default CLOUDSYNC_METRICS_PORT, else ${DEFAULTS.metricsPort})`)
    .option("--metrics-host <host>", `address to bind /metrics to (default CLOUDSYNC_METRICS_HOST, else ${DEFAULTS.metricsHost})`)
    .option("--no-metrics", "do not serve /metrics")
    .option("--heartbeat-url <url>", "URL to POST to after each successful run, e.g. a healthchecks.io check (default CLOUDSYNC_HEARTBEAT_URL); a secret")
    .option("--uri <mongodb-uri>", "MongoDB to back up (default MONGODB_URI)")
    .option("--include <pattern>", "only namespaces matching db.coll (repeatable)", collect, [])
    .option("--exclude <pattern>", "skip namespaces matching db.coll (repeatable)", collect, [])
    .option("--from-archive <path>", "back up this mongodump archive file on every run instead of MongoDB (tests, or when mongodump runs separately)")
    .option("-t, --to <destination>", "primary destination (default CLOUDSYNC_DESTINATION, else ./backups)")
    .option("--cloud-to <destination>", "second destination each new backup is copied to (default s3://CLOUD_SYNC_BUCKET/CLOUDSYNC_CLOUD_PREFIX when CLOUD_SYNC_ENABLED=true)")
    .option("-i, --identity <file>", "age identity for a full read-back verify (repeatable; default CLOUDSYNC_IDENTITY_FILE); without one, verify checks size and SHA-256 only", collect, [])
    .option("--compress <gzip|zstd|none>", "compression (default gzip)")
    .option("--gzip-level <1-9>", "gzip level (default 1)")
    .option("--oplog-follow", "also follow the oplog into --to beside the schedule, for restore --to-time; backups are then made with --oplog (default CLOUDSYNC_OPLOG_FOLLOW, else off)")
    .option("--slice <duration>", "with --oplog-follow: cut a slice this long after its first entry (default 5m)")
    .option("--slice-size <size>", "with --oplog-follow: …or once its entries reach this size (default 16MiB)");
  addEncryptionFlags(cmd).addHelpText(
    "after",
    `
With --oplog-follow the follower runs in the same process, into the primary destination, with its
position in the state directory (oplog-<hash>.json, the file \`cloudsync oplog follow\` uses). It
starts after the newest base backup with an oplog window, and makes one first when there is none.
It does not take the daemon's lock, so scheduled runs go on beside it. After an error it restarts
with backoff (1 s doubling to 5 min); on SIGTERM the slice in progress is stored whole or not at
all. When it finds that the oplog rolled past its position (a gap), status, /metrics and the
heartbeat report the gap and a new base backup starts at once; the gap is resolved once that
backup completes.`,
  ).action(app.action<DaemonCommandOptions>(async () => (await import("./daemon.run.js")).run));
}
