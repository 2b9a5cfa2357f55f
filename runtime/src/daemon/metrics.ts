import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** The daemon's stages, in the order a run performs them. */
export const STAGES = ["backup", "verify", "prune", "cloud-upload", "metadata-sync"] as const;
/** One stage of a daemon run. */
export type Stage = (typeof STAGES)[number];

/** Names and help of every metric the daemon exports (the Grafana dashboard test checks against this). */
export const METRICS = {
  cloudsync_up: { type: "gauge", help: "1 while the cloudsync daemon is running." },
  cloudsync_runs_total: { type: "counter", help: "Daemon runs finished since start, by outcome (success, failure, skipped when another run held the lock)." },
  cloudsync_failures_total: { type: "counter", help: "Failed stages since start, by stage." },
  cloudsync_last_success_timestamp_seconds: { type: "gauge", help: "Unix time the last fully successful run finished (0 if none yet)." },
  cloudsync_last_run_timestamp_seconds: { type: "gauge", help: "Unix time the last run finished." },
  cloudsync_last_run_success: { type: "gauge", help: "1 if the last run succeeded, 0 if it failed." },
  cloudsync_last_run_duration_seconds: { type: "gauge", help: "Duration of each stage of the last run, and of the whole run (stage=\"total\")." },
  cloudsync_next_run_timestamp_seconds: { type: "gauge", help: "Unix time of the next scheduled run (0 when none is scheduled)." },
  cloudsync_backup_bytes: { type: "gauge", help: "Size in bytes of the last stored backup object (compressed and encrypted)." },
  cloudsync_backup_archive_bytes: { type: "gauge", help: "Uncompressed archive bytes of the last backup." },
  cloudsync_backup_documents: { type: "gauge", help: "Documents in the last backup." },
  cloudsync_oplog_follower_up: { type: "gauge", help: "1 while the oplog follower (daemon --oplog-follow) is following, 0 while it waits for a base backup or restarts after an error." },
  cloudsync_oplog_last_capture_timestamp_seconds: { type: "gauge", help: "Unix time (the oplog ts seconds) of the newest oplog entry stored in a slice: point-in-time restores reach up to here." },
  cloudsync_oplog_lag_seconds: { type: "gauge", help: "Seconds of oplog read but not yet stored in a slice (newest entry read minus newest stored)." },
  cloudsync_oplog_slices_total: { type: "counter", help: "Oplog slices stored since start." },
  cloudsync_oplog_gaps_total: { type: "counter", help: "Oplog gaps found since start (the oplog rolled past the follower's position; those entries are lost)." },
  cloudsync_oplog_unresolved_gaps: { type: "gauge", help: "Oplog gaps no base backup newer than the gap covers yet (restores cannot resume after them until one does)." },
  cloudsync_oplog_follower_restarts_total: { type: "counter", help: "Restarts of the oplog follower after an error since start." },
} as const;

/** A metric name the daemon exports. */
export type MetricName = keyof typeof METRICS;

/** One run's figures as the metrics need them. */
export interface RunFigures {
  readonly ok: boolean;
  readonly finishedAt: Date;
  readonly totalSeconds: number;
  readonly stages: ReadonlyArray<{ readonly stage: Stage; readonly outcome: "ok" | "failed" | "skipped"; readonly seconds: number }>;
  readonly backup?: { readonly bytes: number; readonly archiveBytes: number; readonly documents: number };
}

/** The oplog follower's figures as the metrics need them (set whole, each time one changes). */
export interface OplogFigures {
  readonly up: boolean;
  /** Unix seconds of the newest stored entry; undefined before the first is known. */
  readonly lastCaptureSeconds?: number;
  readonly lagSeconds: number;
  readonly slices: number;
  readonly gapsFound: number;
  readonly unresolvedGaps: number;
  readonly restarts: number;
}

/** The daemon's in-memory metrics. */
export interface DaemonMetrics {
  /** Records a finished run: counters, last-run gauges, and last success when `ok`. */
  recordRun(run: RunFigures): void;
  /** Counts a scheduled run skipped because another run held the lock. */
  recordSkip(): void;
  setNextRun(at: Date | undefined): void;
  /** Seeds the last success time (from status.json after a restart), so the gauge survives restarts. */
  setLastSuccess(at: Date): void;
  /** The oplog follower's figures; the cloudsync_oplog_* families appear only once this is called (daemon --oplog-follow). */
  setOplog(figures: OplogFigures): void;
  /** Prometheus text exposition format 0.0.4, HELP and TYPE lines for every metric. */
  render(): string;
}

const seconds = (d: Date): number => Math.round(d.getTime() / 1000);

/** Creates the metrics registry; every stage's failure counter starts at 0 so `increase()` works from the first failure. */
export function createDaemonMetrics(): DaemonMetrics {
  const runs = { success: 0, failure: 0, skipped: 0 };
  const failures = new Map<Stage, number>(STAGES.map((s) => [s, 0]));
  const durations = new Map<string, number>();
  let lastSuccess = 0;
  let lastRun = 0;
  let lastOk: number | undefined;
  let nextRun = 0;
  let backup: RunFigures["backup"];
  let oplog: OplogFigures | undefined;
  return {
    recordRun(run) {
      runs[run.ok ? "success" : "failure"]++;
      durations.clear();
      for (const s of run.stages) {
        if (s.outcome === "failed") failures.set(s.stage, (failures.get(s.stage) ?? 0) + 1);
        if (s.outcome !== "skipped") durations.set(s.stage, s.seconds);
      }
      durations.set("total", run.totalSeconds);
      lastRun = seconds(run.finishedAt);
      lastOk = run.ok ? 1 : 0;
      if (run.ok) lastSuccess = seconds(run.finishedAt);
      if (run.backup) backup = run.backup;
    },
    recordSkip() {
      runs.skipped++;
    },
    setNextRun(at) {
      nextRun = at ? seconds(at) : 0;
    },
    setLastSuccess(at) {
      lastSuccess = Math.max(lastSuccess, seconds(at));
    },
    setOplog(figures) {
      oplog = figures;
    },
    render() {
      const out: string[] = [];
      const family = (name: MetricName, samples: Array<[Record<string, string>, number]>): void => {
        out.push(`# HELP ${name} ${METRICS[name].help}`, `# TYPE ${name} ${METRICS[name].type}`);
        for (const [labels, value] of samples) out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
      };
      family("cloudsync_up", [[{}, 1]]);
      family("cloudsync_runs_total", Object.entries(runs).map(([outcome, n]) => [{ outcome }, n]));
      family("cloudsync_failures_total", [...failures].map(([stage, n]) => [{ stage }, n]));
      family("cloudsync_last_success_timestamp_seconds", [[{}, lastSuccess]]);
      family("cloudsync_last_run_timestamp_seconds", lastRun ? [[{}, lastRun]] : []);
      family("cloudsync_last_run_success", lastOk === undefined ? [] : [[{}, lastOk]]);
      family("cloudsync_last_run_duration_seconds", [...durations].map(([stage, v]) => [{ stage }, v]));
      family("cloudsync_next_run_timestamp_seconds", [[{}, nextRun]]);
      family("cloudsync_backup_bytes", backup ? [[{}, backup.bytes]] : []);
      family("cloudsync_backup_archive_bytes", backup ? [[{}, backup.archiveBytes]] : []);
      family("cloudsync_backup_documents", backup ? [[{}, backup.documents]] : []);
      if (oplog) {
        family("cloudsync_oplog_follower_up", [[{}, oplog.up ? 1 : 0]]);
        family("cloudsync_oplog_last_capture_timestamp_seconds", oplog.lastCaptureSeconds === undefined ? [] : [[{}, oplog.lastCaptureSeconds]]);
        family("cloudsync_oplog_lag_seconds", [[{}, oplog.lagSeconds]]);
        family("cloudsync_oplog_slices_total", [[{}, oplog.slices]]);
        family("cloudsync_oplog_gaps_total", [[{}, oplog.gapsFound]]);
        family("cloudsync_oplog_unresolved_gaps", [[{}, oplog.unresolvedGaps]]);
        family("cloudsync_oplog_follower_restarts_total", [[{}, oplog.restarts]]);
      }
      return out.join("\n") + "\n";
    },
  };
}

/** Label set in exposition syntax, values escaped (backslash, quote, newline) per the format. */
function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (!entries.length) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The bound address, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (text/plain; version=0.0.4) from `metrics` on host:port (port 0 picks a
 * free one); other paths are 404, other methods 405. Rejects when the port cannot be bound
 * (e.g. EADDRINUSE).
 */
export async function serveMetrics(metrics: DaemonMetrics, opts: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const body = metrics.render();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
