// The implementation of `cloudsync daemon`, imported by ./daemon.ts only when the command runs, so that
// its dependencies load only then.
import { compressionOf, settingName, type Config } from "../../config/config.js";
import { parseCron, scheduleIntervalSeconds } from "../../config/cron.js";
import { runDaemon, runOnce, type DaemonOptions, type OplogFollowSettings, type RunOutcome } from "../../daemon/daemon.js";
import type { RunPlan } from "../../daemon/jobs.js";
import { createDaemonMetrics, serveMetrics, type MetricsServer } from "../../daemon/metrics.js";
import { ConfigError, EXIT, exitCodeFor } from "../../errors.js";
import { loadDecryptionKeys, planEncryption } from "../../pipeline/encryption.js";
import { sliceLimitsOf } from "../../pipeline/oplog-follow.js";
import { destinationOf } from "../../destinations/from-config.js";
import { retentionPolicyOf } from "../../retention/policy.js";
import { flagsToConfig } from "../common.js";
import { formatBytes } from "../progress.js";
import type { CommandContext, Run } from "../app.js";
import type { DaemonCommandOptions } from "./daemon.js";

/** Runs `cloudsync daemon`. */
export const run: Run<DaemonCommandOptions> = async (ctx) => {
  const o = ctx.opts;
  const { flags, names } = flagsToConfig(o, "to");
  const config = ctx.config(
    { ...flags, schedule: o.schedule, jitter: o.jitter, stateDir: o.stateDir, metricsPort: o.metricsPort, metricsHost: o.metricsHost, heartbeatUrl: o.heartbeatUrl, oplogFollow: o.oplogFollow },
    { ...names, schedule: "--schedule", jitter: "--jitter", stateDir: "--state-dir", metricsPort: "--metrics-port", metricsHost: "--metrics-host", heartbeatUrl: "--heartbeat-url", oplogFollow: "--oplog-follow" },
  );
  const d = config.daemon;
  const schedule = parseCron(d.schedule);
  const stateDir = d.stateDir;
  ctx.out.addSecrets(d.heartbeatUrl);
  if (o.once && o.runNow) throw new ConfigError("--run-now", "cannot be combined with --once");
  const oplog = oplogSettings(config, o);

  const plan = await buildPlan(ctx, config, o);
  const metrics = createDaemonMetrics();
  const options: DaemonOptions = { plan, stateDir, schedule, intervalSeconds: scheduleIntervalSeconds(schedule, new Date()), jitterMs: d.jitterMs, heartbeatUrl: d.heartbeatUrl, metrics, signal: ctx.signal, ...(oplog ? { oplog } : {}) };

  if (o.once) {
    const outcome = await runOnce(options);
    report(ctx, outcome);
    if (outcome.error !== undefined && !ctx.signal.aborted) ctx.setExitCode(exitCodeFor(outcome.error));
    return;
  }
  let server: MetricsServer | undefined;
  if (o.metrics !== false) {
    const { metricsHost: host, metricsPort: port } = d;
    server = await serveMetrics(metrics, { host, port }).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(settingName(config, "metricsPort"), `cannot serve metrics on ${host}:${port}: ${err.code ?? err.message}`);
    });
    plan.log(`metrics at ${server.url}/metrics`);
  }
  plan.log(`daemon started: schedule "${schedule.source}" (UTC), jitter ${d.jitter}, state ${stateDir}${oplog ? `, following the oplog into ${plan.destination.url} (slices of ${o.slice ?? "5m"} or ${o.sliceSize ?? "16MiB"}; backups made with --oplog)` : ""}`);
  try {
    await runDaemon({ ...options, runNow: Boolean(o.runNow), onRun: (r) => report(ctx, r) });
  } finally {
    await server?.close();
  }
  // A signal is how a daemon is meant to stop: after a clean shutdown the exit is 0.
  ctx.setExitCode(EXIT.ok);
  plan.log("daemon stopped");
};

/**
 * The follower settings when --oplog-follow (or CLOUDSYNC_OPLOG_FOLLOW) is on, checked at
 * start-up; undefined when off, where --slice and --slice-size are refused as meaningless.
 */
function oplogSettings(config: Config, o: DaemonCommandOptions): OplogFollowSettings | undefined {
  const on = config.daemon.oplogFollow;
  const follow = settingName(config, "oplogFollow");
  if (!on) {
    if (o.slice !== undefined || o.sliceSize !== undefined) throw new ConfigError(o.slice !== undefined ? "--slice" : "--slice-size", "only applies with --oplog-follow (or CLOUDSYNC_OPLOG_FOLLOW=true)");
    return undefined;
  }
  if (o.once) throw new ConfigError(follow, "follows the oplog continuously and cannot be combined with --once; run `cloudsync oplog follow --once` for a one-off capture");
  if (o.fromArchive) throw new ConfigError(follow, "needs a live MongoDB replica set member (--uri), not --from-archive: the oplog is read from the server the backups come from");
  return { uri: config.mongodbUri, ...sliceLimitsOf(o.slice, o.sliceSize) };
}

/** Resolves sources, destinations, keys and policies once, so a bad setting fails at start-up. */
async function buildPlan(ctx: CommandContext, config: Config, o: DaemonCommandOptions): Promise<RunPlan> {
  const from = o.fromArchive;
  if (from && o.uri) throw new ConfigError("--from-archive", "give one source: --uri (a live MongoDB) or --from-archive, not both");
  const encryption = await planEncryption(config);
  const keys = await loadDecryptionKeys(config);
  const { policy: retention } = retentionPolicyOf(config, { explicit: false, field: "CLOUDSYNC_KEEP_WITHIN" });
  const cs = config.cloudSync;
  let cloudSpec = o.cloudTo;
  if (!cloudSpec && cs.enabled && cs.bucket) cloudSpec = `s3://${cs.bucket}/${config.daemon.cloudPrefix}`.replace(/\/+$/, "");
  let metadata: RunPlan["metadata"];
  if (cs.enabled) {
    metadata =
      cs.endpoint && cs.apiKey
        ? { endpoint: cs.endpoint, apiKey: cs.apiKey, source: { uri: config.mongodbUri, database: "models", collection: "models" }, statePath: `${config.daemon.stateDir}/metadata-sync.json` }
        : { skip: "CLOUD_SYNC_ENABLED=true but CLOUD_SYNC_ENDPOINT or CLOUD_SYNC_API_KEY is not set" };
  }
  const log = (line: string): void => ctx.out.warn(`${new Date().toISOString()} ${line}`);
  return {
    source: from ? { kind: "archive", path: from } : { kind: "mongodb", uri: config.mongodbUri, include: o.include, exclude: o.exclude, ...(config.daemon.oplogFollow ? { oplog: true } : {}) },
    destination: destinationOf(config, config.destination, ctx.destinationWrappers),
    compression: compressionOf(config),
    encryption,
    ...(keys.ageIdentities.length || keys.passphrase || keys.openPgpPrivateKey ? { decryption: keys } : {}),
    retention,
    ...(cloudSpec ? { cloud: destinationOf(config, cloudSpec, ctx.destinationWrappers) } : {}),
    ...(metadata ? { metadata } : {}),
    log,
  };
}

/** Prints one run's record (JSON with --json, one line per stage otherwise). */
function report(ctx: CommandContext, outcome: RunOutcome): void {
  const r = outcome.record;
  ctx.out.result(r, () =>
    [
      `run ${r.reason ? `(${r.reason}) ` : ""}${r.ok ? "succeeded" : r.interrupted ? "was interrupted" : "FAILED"} in ${r.seconds.toFixed(1)} s${r.backup ? `: backup ${r.backup.id}, ${formatBytes(r.backup.bytes)}, ${r.backup.documents.toLocaleString("en-US")} documents` : ""}`,
      ...r.stages.map((s) => `  ${s.stage.padEnd(14)} ${s.outcome.padEnd(8)} ${s.seconds.toFixed(1).padStart(6)} s${s.message ? `  ${s.message}` : ""}`),
    ].join("\n"),
  );
}
