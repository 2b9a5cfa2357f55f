import { describe, expect, it } from "vitest";
import { createDaemonMetrics, METRICS, serveMetrics } from "../../runtime/src/daemon/metrics.js";

describe("daemon metrics", () => {
  it("renders the text exposition format with HELP and TYPE for every family, zeroed counters before any run", () => {
    const text = createDaemonMetrics().render();
    expect(text).toBe(
      [
        `# HELP cloudsync_up ${METRICS.cloudsync_up.help}`,
        "# TYPE cloudsync_up gauge",
        "cloudsync_up 1",
        `# HELP cloudsync_runs_total ${METRICS.cloudsync_runs_total.help}`,
        "# TYPE cloudsync_runs_total counter",
        'cloudsync_runs_total{outcome="success"} 0',
        'cloudsync_runs_total{outcome="failure"} 0',
        'cloudsync_runs_total{outcome="skipped"} 0',
        `# HELP cloudsync_failures_total ${METRICS.cloudsync_failures_total.help}`,
        "# TYPE cloudsync_failures_total counter",
        'cloudsync_failures_total{stage="backup"} 0',
        'cloudsync_failures_total{stage="verify"} 0',
        'cloudsync_failures_total{stage="prune"} 0',
        'cloudsync_failures_total{stage="cloud-upload"} 0',
        'cloudsync_failures_total{stage="metadata-sync"} 0',
        `# HELP cloudsync_last_success_timestamp_seconds ${METRICS.cloudsync_last_success_timestamp_seconds.help}`,
        "# TYPE cloudsync_last_success_timestamp_seconds gauge",
        "cloudsync_last_success_timestamp_seconds 0",
        `# HELP cloudsync_last_run_timestamp_seconds ${METRICS.cloudsync_last_run_timestamp_seconds.help}`,
        "# TYPE cloudsync_last_run_timestamp_seconds gauge",
        `# HELP cloudsync_last_run_success ${METRICS.cloudsync_last_run_success.help}`,
        "# TYPE cloudsync_last_run_success gauge",
        `# HELP cloudsync_last_run_duration_seconds ${METRICS.cloudsync_last_run_duration_seconds.help}`,
        "# TYPE cloudsync_last_run_duration_seconds gauge",
        `# HELP cloudsync_next_run_timestamp_seconds ${METRICS.cloudsync_next_run_timestamp_seconds.help}`,
        "# TYPE cloudsync_next_run_timestamp_seconds gauge",
        "cloudsync_next_run_timestamp_seconds 0",
        `# HELP cloudsync_backup_bytes ${METRICS.cloudsync_backup_bytes.help}`,
        "# TYPE cloudsync_backup_bytes gauge",
        `# HELP cloudsync_backup_archive_bytes ${METRICS.cloudsync_backup_archive_bytes.help}`,
        "# TYPE cloudsync_backup_archive_bytes gauge",
        `# HELP cloudsync_backup_documents ${METRICS.cloudsync_backup_documents.help}`,
        "# TYPE cloudsync_backup_documents gauge",
        "",
      ].join("\n"),
    );
  });

  it("records runs: counters, durations per stage and total, last success kept across a failure", () => {
    const m = createDaemonMetrics();
    m.recordRun({
      ok: true,
      finishedAt: new Date("2026-11-24T03:00:10Z"),
      totalSeconds: 10.25,
      stages: [
        { stage: "backup", outcome: "ok", seconds: 8 },
        { stage: "verify", outcome: "ok", seconds: 2.125 },
        { stage: "prune", outcome: "ok", seconds: 0.125 },
      ],
      backup: { bytes: 1234, archiveBytes: 5678, documents: 42 },
    });
    m.recordRun({ ok: false, finishedAt: new Date("2026-11-25T03:00:05Z"), totalSeconds: 5, stages: [{ stage: "backup", outcome: "failed", seconds: 5 }, { stage: "verify", outcome: "skipped", seconds: 0 }] });
    m.recordSkip();
    m.setNextRun(new Date("2026-11-26T03:00:00Z"));
    const lines = m.render().split("\n").filter((l) => !l.startsWith("#"));
    expect(lines).toEqual([
      "cloudsync_up 1",
      'cloudsync_runs_total{outcome="success"} 1',
      'cloudsync_runs_total{outcome="failure"} 1',
      'cloudsync_runs_total{outcome="skipped"} 1',
      'cloudsync_failures_total{stage="backup"} 1',
      'cloudsync_failures_total{stage="verify"} 0',
      'cloudsync_failures_total{stage="prune"} 0',
      'cloudsync_failures_total{stage="cloud-upload"} 0',
      'cloudsync_failures_total{stage="metadata-sync"} 0',
      `cloudsync_last_success_timestamp_seconds ${Date.parse("2026-11-24T03:00:10Z") / 1000}`,
      `cloudsync_last_run_timestamp_seconds ${Date.parse("2026-11-25T03:00:05Z") / 1000}`,
      "cloudsync_last_run_success 0",
      'cloudsync_last_run_duration_seconds{stage="backup"} 5',
      'cloudsync_last_run_duration_seconds{stage="total"} 5',
      `cloudsync_next_run_timestamp_seconds ${Date.parse("2026-11-26T03:00:00Z") / 1000}`,
      "cloudsync_backup_bytes 1234",
      "cloudsync_backup_archive_bytes 5678",
      "cloudsync_backup_documents 42",
      "",
    ]);
  });

  it("serves /metrics over HTTP with the exposition content type; 404 elsewhere, 405 for POST", async () => {
    const m = createDaemonMetrics();
    const server = await serveMetrics(m, { host: "127.0.0.1", port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(await res.text()).toBe(m.render());
      expect((await fetch(`${server.url}/`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it("rejects when the port is taken", async () => {
    const a = await serveMetrics(createDaemonMetrics(), { host: "127.0.0.1", port: 0 });
    try {
      const port = Number(new URL(a.url).port);
      await expect(serveMetrics(createDaemonMetrics(), { host: "127.0.0.1", port })).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      await a.close();
    }
  });
});
