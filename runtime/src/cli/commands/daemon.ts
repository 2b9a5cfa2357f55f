import type { Command } from "commander";
import { DURATION_DOC, parseDuration } from "../../config/duration.js";
import { parseCron, scheduleIntervalSeconds } from "../../daemon/cron.js";
import { runDaemon, runOnce, type DaemonOptions, type RunOutcome } from "../../daemon/daemon.js";
import type { RunPlan } from "../../daemon/jobs.js";
import { createDaemonMetrics, serveMetrics, type MetricsServer } from "../../daemon/metrics.js";
import { defaultStateDir } from "../../daemon/status.js";
import { compressionOf, type Config } from "../../config/config.js";
import { ConfigError, EXIT, exitCodeFor } from "../../errors.js";
import { loadDecryptionKeys, planEncryption } from "../../pipeline/encryption.js";
import { Secret } from "../../secret.js";
import type { CliApp, CommandContext } from "../app.js";
import { addEncryptionFlags, collect, destinationOf, flagsToConfig, retentionPolicyOf } from "../common.js";
import { formatBytes } from "../progress.js";

/** Default schedule: daily at 03:00 UTC. */
export const DEFAULT_SCHEDULE = "0 3 * * *";

/**
 * `cloudsync daemon`: scheduled backup → verify → prune → cloud upload → metadata sync, one run
 * at a time (lock file), with Prometheus metrics, a heartbeat URL and status.json for
 * `cloudsync status`. Settings come from flags, else the environment the BackupAgent container
 * passes (CLOUDSYNC_SCHEDULE, CLOUDSYNC_DESTINATION, CLOUDSYNC_RECIPIENTS, CLOUDSYNC_KEEP_WITHIN,
 * CLOUD_SYNC_* and CLOUDSYNC_CLOUD_PREFIX, MONGODB_URI), else the defaults.
 */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("daemon")
    .description("Run backups on a schedule: backup → verify → prune → cloud upload → metadata sync, with metrics, heartbeat and status")
    .option("--schedule <cron>", `five-field cron expression in UTC (default CLOUDSYNC_SCHEDULE, else "${DEFAULT_SCHEDULE}")`)
    .option("--jitter <duration>", `random delay 0..duration added to each scheduled run, e.g. 10m (minutes) or 1h; ${DURATION_DOC} (default CLOUDSYNC_JITTER, else 0)`)
    .option("--once", "run once now and exit (exit code of the first failed stage; 7 if another run holds the lock)")
    .option("--run-now", "run once at start, then follow the schedule")
    .option("--state-dir <dir>", "status.json, metrics.prom and the lock (default CLOUDSYNC_STATE_DIR, else $XDG_STATE_HOME/cloudsync)")
    .option("--metrics-port <port>", "serve Prometheus /metrics on this port (default CLOUDSYNC_METRICS_PORT, else 9464)")
    .option("--metrics-host <host>", "address to bind /metrics to (default CLOUDSYNC_METRICS_HOST, else 127.0.0.1)")
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
    .option("--gzip-level <1-9>", "gzip level (default 1)");
  addEncryptionFlags(cmd).action(
    app.action(async (ctx) => {
      const o = ctx.opts;
      const env = process.env;
      const { flags, names } = flagsToConfig(o, "to");
      const config = ctx.config(flags, names);
      const scheduleText = (o.schedule as string | undefined) ?? env.CLOUDSYNC_SCHEDULE ?? DEFAULT_SCHEDULE;
      const schedule = parseCron(scheduleText, o.schedule !== undefined ? "--schedule" : env.CLOUDSYNC_SCHEDULE ? "CLOUDSYNC_SCHEDULE" : "--schedule");
      const jitterText = (o.jitter as string | undefined) ?? env.CLOUDSYNC_JITTER ?? "0";
      const jitterMs = parseDuration(jitterText, { name: o.jitter !== undefined ? "--jitter" : "CLOUDSYNC_JITTER", allowZero: true });
      const stateDir = (o.stateDir as string | undefined) ?? defaultStateDir(env);
      const heartbeatText = (o.heartbeatUrl as string | undefined) ?? env.CLOUDSYNC_HEARTBEAT_URL;
      const heartbeatUrl = heartbeatText ? new Secret(heartbeatText) : undefined;
      ctx.out.addSecrets(heartbeatUrl);
      if (heartbeatUrl && !/^https?:\/\//.test(heartbeatText as string)) throw new ConfigError(o.heartbeatUrl !== undefined ? "--heartbeat-url" : "CLOUDSYNC_HEARTBEAT_URL", "must be an http:// or https:// URL");
      if (o.once && o.runNow) throw new ConfigError("--run-now", "cannot be combined with --once");

      const plan = await buildPlan(ctx, config, o, env, stateDir);
      const metrics = createDaemonMetrics();
      const options: DaemonOptions = { plan, stateDir, schedule, intervalSeconds: scheduleIntervalSeconds(schedule, new Date()), jitterMs, heartbeatUrl, metrics, signal: ctx.signal };

      if (o.once) {
        const outcome = await runOnce(options);
        report(ctx, outcome);
        if (outcome.error !== undefined && !ctx.signal.aborted) app.setExitCode(exitCodeFor(outcome.error));
        return;
      }
      let server: MetricsServer | undefined;
      if (o.metrics !== false) {
        const port = parsePort((o.metricsPort as string | undefined) ?? env.CLOUDSYNC_METRICS_PORT ?? "9464", o.metricsPort !== undefined ? "--metrics-port" : "CLOUDSYNC_METRICS_PORT");
        const host = (o.metricsHost as string | undefined) ?? env.CLOUDSYNC_METRICS_HOST ?? "127.0.0.1";
        server = await serveMetrics(metrics, { host, port }).catch((err: NodeJS.ErrnoException) => {
          throw new ConfigError("--metrics-port", `cannot serve metrics on ${host}:${port}: ${err.code ?? err.message}`);
        });
        plan.log(`metrics at ${server.url}/metrics`);
      }
      plan.log(`daemon started: schedule "${schedule.source}" (UTC), jitter ${jitterText}, state ${stateDir}`);
      try {
        await runDaemon({ ...options, runNow: Boolean(o.runNow), onRun: (r) => report(ctx, r) });
      } finally {
        await server?.close();
      }
      // A signal is how a daemon is meant to stop: after a clean shutdown the exit is 0.
      app.setExitCode(EXIT.ok);
      plan.log("daemon stopped");
    }),
  );
}

/** Resolves sources, destinations, keys and policies once, so a bad setting fails at start-up. */
async function buildPlan(ctx: CommandContext, config: Config, o: Record<string, unknown>, env: NodeJS.ProcessEnv, stateDir: string): Promise<RunPlan> {
  const from = o.fromArchive as string | undefined;
  if (from && o.uri) throw new ConfigError("--from-archive", "give one source: --uri (a live MongoDB) or --from-archive, not both");
  const encryption = await planEncryption(config);
  const keys = await loadDecryptionKeys(config);
  const { policy: retention } = retentionPolicyOf(config, { explicit: false, field: "CLOUDSYNC_KEEP_WITHIN" });
  const cs = config.cloudSync;
  let cloudSpec = o.cloudTo as string | undefined;
  if (!cloudSpec && cs.enabled && cs.bucket) cloudSpec = `s3://${cs.bucket}/${(env.CLOUDSYNC_CLOUD_PREFIX ?? "").replace(/^\/+/, "")}`.replace(/\/+$/, "");
  let metadata: RunPlan["metadata"];
  if (cs.enabled) {
    metadata =
      cs.endpoint && cs.apiKey
        ? { endpoint: cs.endpoint, apiKey: cs.apiKey, source: { uri: config.mongodbUri, database: "models", collection: "models" }, statePath: `${stateDir}/metadata-sync.json` }
        : { skip: "CLOUD_SYNC_ENABLED=true but CLOUD_SYNC_ENDPOINT or CLOUD_SYNC_API_KEY is not set" };
  }
  const log = (line: string): void => ctx.out.warn(`${new Date().toISOString()} ${line}`);
  return {
    source: from ? { kind: "archive", path: from } : { kind: "mongodb", uri: config.mongodbUri, include: o.include as string[], exclude: o.exclude as string[] },
    destination: destinationOf(config),
    compression: compressionOf(config),
    encryption,
    ...(keys.ageIdentities.length || keys.passphrase || keys.openPgpPrivateKey ? { decryption: keys } : {}),
    retention,
    ...(cloudSpec ? { cloud: destinationOf(config, cloudSpec) } : {}),
    ...(metadata ? { metadata } : {}),
    log,
  };
}

function parsePort(text: string, field: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(field, `must be a port number from 0 to 65535, got "${text}"`);
  return n;
}

/** Prints one run's record (JSON with --json, one line per stage otherwise). */
function report(ctx: CommandContext, outcome: RunOutcome): void {
  const r = outcome.record;
  ctx.out.result(r, () =>
    [
      `run ${r.ok ? "succeeded" : r.interrupted ? "was interrupted" : "FAILED"} in ${r.seconds.toFixed(1)} s${r.backup ? `: backup ${r.backup.id}, ${formatBytes(r.backup.bytes)}, ${r.backup.documents.toLocaleString("en-US")} documents` : ""}`,
      ...r.stages.map((s) => `  ${s.stage.padEnd(14)} ${s.outcome.padEnd(8)} ${s.seconds.toFixed(1).padStart(6)} s${s.message ? `  ${s.message}` : ""}`),
    ].join("\n"),
  );
}
