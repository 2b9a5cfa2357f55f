import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { METRICS } from "../../runtime/src/daemon/metrics.js";

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(await readFile(new URL("../../docs/grafana-dashboard.json", import.meta.url), "utf8")) as { title: string; uid: string; panels: Panel[]; templating: { list: Array<{ query: string }> } };

describe("docs/grafana-dashboard.json", () => {
  const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))), ...dashboard.templating.list.filter((v) => v.query.includes("(")).map((v) => ({ panel: "variable", expr: v.query }))];

  it("has panels with queries", () => {
    expect(dashboard.uid).toBe("cloudsync-daemon");
    expect(exprs.length).toBeGreaterThanOrEqual(9);
  });

  it("references only metrics the daemon exports, in every expression", () => {
    for (const { panel, expr } of exprs) {
      const names = expr.match(/\bcloudsync_[a-z_]+/g) ?? [];
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(Object.keys(METRICS), `${panel}: ${expr}`).toContain(name);
    }
  });

  it("shows the health signals: last success, failures by stage, stage durations, size", () => {
    const all = exprs.map((e) => e.expr).join("\n");
    for (const name of ["cloudsync_last_success_timestamp_seconds", "cloudsync_failures_total", "cloudsync_last_run_duration_seconds", "cloudsync_backup_bytes", "cloudsync_backup_documents", "cloudsync_runs_total", "cloudsync_up"]) expect(all).toContain(name);
  });
});
