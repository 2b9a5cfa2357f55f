// The daemon's oplog stage without a server: gap resolution by base backups, status health with
// gaps and a failing follower, the oplog metrics, the heartbeat body, and the supervisor's
// restarts with backoff after a real local fault (its state file is a directory) and its request
// for a base backup when the destination has none.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { heartbeatBody } from "../../runtime/src/daemon/daemon.js";
import { createDaemonMetrics, METRICS } from "../../runtime/src/daemon/metrics.js";
import { resolveGaps, startOplogStage, type BaseRunResult } from "../../runtime/src/daemon/oplog-stage.js";
import { assessStatus, type DaemonStatus, type OplogFollowerStatus, type OplogGapRecord } from "../../runtime/src/daemon/status.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import type { BackupManifest } from "../../runtime/src/manifest/manifest.js";
import { followStatePath } from "../../runtime/src/pipeline/oplog-follow.js";
import { Secret } from "../../runtime/src/secret.js";
import { waitFor } from "../support/wait.js";

const base = (id: string, end: { t: number; i: number } | undefined): BackupManifest =>
  ({ format: 1, id, createdAt: "2026-12-01T00:00:00.000Z", completedAt: `completed ${id}`, consistency: end ? { mode: "oplog-window", detail: { oplogIncluded: true, oplogWindow: { start: { t: 1, i: 1 }, end } } } : { mode: "fuzzy" }, namespaces: [], object: { key: `data/${id}.archive`, size: 1, sha256: "0".repeat(64) } }) as unknown as BackupManifest;

const gap: OplogGapRecord = { from: { t: 1_796_083_200, i: 3 }, to: { t: 1_796_086_800, i: 1 }, foundAt: "2026-12-01T01:00:05.000Z", baseStartedAt: "2026-12-01T01:00:06.000Z" };
const follower: OplogFollowerStatus = { state: "following", destination: "/b", statePath: "/s/oplog-x.json", mode: "polling", position: { t: 1_796_086_900, i: 2 }, newestCapturedAt: "2026-12-01T01:01:40Z", lagSeconds: 3, slices: 4, restarts: 0, updatedAt: "2026-12-01T01:02:00.000Z", gaps: [gap] };
const status: DaemonStatus = { format: 1, pid: 1, schedule: "0 3 * * *", intervalSeconds: 86_400, daemonStartedAt: "2026-12-01T00:00:00.000Z", oplog: follower };
const now = new Date("2026-12-01T01:05:00Z");

describe("resolveGaps", () => {
  it("resolves a gap by the oldest base whose oplog end is at or after the gap's end, and leaves it open otherwise", () => {
    expect(resolveGaps([gap], [base("older", { t: gap.from.t, i: 9 }), base("no-oplog", undefined)])).toEqual([gap]);
    expect(resolveGaps([gap], [base("later", { t: gap.to.t + 60, i: 1 }), base("exact", gap.to), base("older", gap.from)])).toEqual([{ ...gap, resolvedBy: "exact", resolvedAt: "completed exact" }]);
    const resolved = { ...gap, resolvedBy: "first", resolvedAt: "x" };
    expect(resolveGaps([resolved], [base("exact", gap.to)])).toEqual([resolved]);
  });
});

describe("assessStatus with the oplog follower", () => {
  it("is degraded while a gap is unresolved, naming both timestamps and the base backup started for it", () => {
    expect(assessStatus(status, now)).toEqual({
      healthy: false,
      level: "degraded",
      problems: [
        "oplog gap: the entries after 1796083200,3 (2026-12-01T00:00:00Z) and before 1796086800,1 (2026-12-01T01:00:00Z) are lost; restores cannot reach times between them, and none after them until a base backup newer than the gap completes (one started 2026-12-01T01:00:06.000Z)",
      ],
    });
  });
  it("is healthy once a base backup resolves the gap", () => {
    expect(assessStatus({ ...status, oplog: { ...follower, gaps: [{ ...gap, resolvedBy: "b1", resolvedAt: "2026-12-01T01:03:00.000Z" }] } }, now)).toEqual({ healthy: true, level: "healthy", problems: [] });
  });
  it("is degraded while the follower restarts or waits for a base backup, and failing when a run failed as well", () => {
    const restarting = { ...follower, gaps: [], state: "restarting" as const, restarts: 2, lastError: { at: "2026-12-01T01:04:00.000Z", message: "mongodb read local.oplog.rs: connection refused" } };
    expect(assessStatus({ ...status, oplog: restarting }, now)).toEqual({ healthy: false, level: "degraded", problems: ["oplog follower failed 2026-12-01T01:04:00.000Z: mongodb read local.oplog.rs: connection refused; restarting (2 restarts so far)"] });
    expect(assessStatus({ ...status, oplog: { ...follower, gaps: [], state: "waiting-for-base" } }, now).problems).toEqual(["oplog follower is waiting for a base backup with an oplog window in /b"]);
    const failedRun = { startedAt: "2026-12-01T01:00:06.000Z", finishedAt: "2026-12-01T01:00:07.000Z", ok: false, interrupted: false, seconds: 1, stages: [{ stage: "backup" as const, outcome: "failed" as const, seconds: 1, message: "boom" }] };
    const h = assessStatus({ ...status, lastRun: failedRun }, now);
    expect(h.level).toBe("failing");
    expect(h.problems[0]).toBe("last run 2026-12-01T01:00:07.000Z failed: backup (boom)");
    expect(h.problems[1]).toMatch(/^oplog gap: /);
  });
});

describe("oplog metrics", () => {
  it("are absent without a follower and rendered with HELP and TYPE once it reports", () => {
    const m = createDaemonMetrics();
    expect(m.render()).not.toContain("cloudsync_oplog_");
    m.setOplog({ up: true, lastCaptureSeconds: 1_796_086_900, lagSeconds: 3, slices: 4, gapsFound: 1, unresolvedGaps: 1, restarts: 2 });
    const text = m.render();
    expect(text.slice(text.indexOf("# HELP cloudsync_oplog_"))).toBe(
      [
        `# HELP cloudsync_oplog_follower_up ${METRICS.cloudsync_oplog_follower_up.help}`,
        "# TYPE cloudsync_oplog_follower_up gauge",
        "cloudsync_oplog_follower_up 1",
        `# HELP cloudsync_oplog_last_capture_timestamp_seconds ${METRICS.cloudsync_oplog_last_capture_timestamp_seconds.help}`,
        "# TYPE cloudsync_oplog_last_capture_timestamp_seconds gauge",
        "cloudsync_oplog_last_capture_timestamp_seconds 1796086900",
        `# HELP cloudsync_oplog_lag_seconds ${METRICS.cloudsync_oplog_lag_seconds.help}`,
        "# TYPE cloudsync_oplog_lag_seconds gauge",
        "cloudsync_oplog_lag_seconds 3",
        `# HELP cloudsync_oplog_slices_total ${METRICS.cloudsync_oplog_slices_total.help}`,
        "# TYPE cloudsync_oplog_slices_total counter",
        "cloudsync_oplog_slices_total 4",
        `# HELP cloudsync_oplog_gaps_total ${METRICS.cloudsync_oplog_gaps_total.help}`,
        "# TYPE cloudsync_oplog_gaps_total counter",
        "cloudsync_oplog_gaps_total 1",
        `# HELP cloudsync_oplog_unresolved_gaps ${METRICS.cloudsync_oplog_unresolved_gaps.help}`,
        "# TYPE cloudsync_oplog_unresolved_gaps gauge",
        "cloudsync_oplog_unresolved_gaps 1",
        `# HELP cloudsync_oplog_follower_restarts_total ${METRICS.cloudsync_oplog_follower_restarts_total.help}`,
        "# TYPE cloudsync_oplog_follower_restarts_total counter",
        "cloudsync_oplog_follower_restarts_total 2",
        "",
      ].join("\n"),
    );
    m.setOplog({ up: false, lagSeconds: 0, slices: 0, gapsFound: 0, unresolvedGaps: 0, restarts: 0 });
    expect(m.render()).toContain("# TYPE cloudsync_oplog_last_capture_timestamp_seconds gauge\n# HELP cloudsync_oplog_lag_seconds");
  });
});

describe("heartbeatBody", () => {
  const record = { startedAt: "2026-12-01T01:00:06.000Z", finishedAt: "2026-12-01T01:00:09.000Z", ok: true, interrupted: false, seconds: 3, stages: [], backup: { id: "b1", bytes: 1, archiveBytes: 1, documents: 1 }, reason: "oplog gap after 1796083200,3: …" };
  it("carries the health, the follower's position and lag, and every gap", () => {
    expect(heartbeatBody({ ...status, lastRun: record, lastSuccessAt: record.finishedAt }, record, now)).toEqual({
      backup: "b1",
      seconds: 3,
      reason: record.reason,
      health: "degraded",
      problems: [expect.stringMatching(/^oplog gap: the entries after 1796083200,3 /)],
      oplog: { state: "following", position: follower.position, newestCapturedAt: follower.newestCapturedAt, lagSeconds: 3, unresolvedGaps: 1, gaps: [gap] },
    });
  });
  it("is the backup, duration and health only without a follower", () => {
    const plain = { ...status, lastRun: record, lastSuccessAt: record.finishedAt };
    delete (plain as { oplog?: unknown }).oplog;
    const { reason: _, ...scheduled } = record;
    expect(heartbeatBody(plain, scheduled, now)).toEqual({ backup: "b1", seconds: 3, health: "healthy", problems: [] });
  });
});

describe("the oplog stage's supervisor", () => {
  let root: string;
  let ctl: AbortController;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cloudsync-oplog-stage-"));
    ctl = new AbortController();
  });
  afterEach(() => {
    ctl.abort();
    rmSync(root, { recursive: true, force: true });
  });
  const start = (requestBase: (reason: string) => Promise<BaseRunResult>) => {
    const lines: string[] = [];
    const seen: OplogFollowerStatus[] = [];
    const dest = createLocalDestination(join(root, "backups"));
    const stage = startOplogStage({
      uri: new Secret("mongodb://127.0.0.1:1"),
      destination: dest,
      compression: { algorithm: "none" },
      encryption: { manifest: { scheme: "none" } as BackupManifest["encryption"], create: () => undefined },
      stateDir: join(root, "state"),
      sliceMs: 1000,
      sliceBytes: 1 << 20,
      signal: ctl.signal,
      log: (l) => lines.push(l),
      requestBase: (reason) => requestBase(reason),
      onChange: () => seen.push(stage.status()),
      backoff: { firstMs: 20, maxMs: 80 },
    });
    return { stage, lines, seen, dest };
  };

  it("restarts after an error with doubling delays up to the maximum (never spinning), records it, and stops on the signal", async () => {
    // A real fault: the follower's state file is a directory, so reading it fails every time.
    mkdirSync(followStatePath(join(root, "state"), createLocalDestination(join(root, "backups")).url), { recursive: true });
    const { stage, lines, seen } = start(async () => ({ ok: false, why: "not asked" }));
    await waitFor("five restarts", () => stage.status().restarts >= 5);
    const restarting = seen.find((s) => s.state === "restarting")!;
    expect(restarting.lastError?.message).toMatch(/^read \S+oplog-\w+\.json: that path is a directory where a file was expected; .*\(EISDIR\)$/);
    expect(stage.figures()).toMatchObject({ up: false, restarts: expect.any(Number) });
    const delays = lines.filter((l) => l.startsWith("oplog follower: failed (")).map((l) => /restarting in ([\d.]+) s$/.exec(l)?.[1]);
    expect(delays.slice(0, 5)).toEqual(["0.02", "0.04", "0.08", "0.08", "0.08"]);
    ctl.abort();
    await stage.done;
    expect(stage.status().state).toBe("stopped");
    expect(seen.at(-1)?.state).toBe("stopped");
  });

  it("without a base backup with an oplog window, asks the daemon for one (and waits for a base, with backoff, while runs fail)", async () => {
    const asked: string[] = [];
    const { stage, lines, dest } = start(async (reason) => {
      asked.push(reason);
      return { ok: false, why: "backup: connection refused" };
    });
    await waitFor("two requests", () => asked.length >= 2);
    expect(asked[0]).toBe(`no base backup with an oplog window in ${dest.url}: the oplog follower starts after one`);
    expect(stage.status().state).toBe("waiting-for-base");
    expect(stage.status().restarts).toBe(0);
    expect(lines).toContain("oplog follower: the base backup did not complete (backup: connection refused)");
    expect(assessStatus({ ...status, oplog: stage.status() }, now).problems).toEqual([expect.stringMatching(new RegExp(`^oplog follower is waiting for a base backup with an oplog window in ${dest.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(no base backup with an oplog window in `))]);
  });
});
