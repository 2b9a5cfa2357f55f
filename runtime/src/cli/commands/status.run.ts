// The implementation of `cloudsync status`, imported by ./status.ts only when the command runs, so that
// its dependencies load only then.
import { assessStatus, readStatus, statusPath } from "../../daemon/status.js";
import { EXIT } from "../../errors.js";
import { formatBytes } from "../progress.js";
import type { Run } from "../app.js";
import type { StatusCommandOptions } from "./status.js";

/** Runs `cloudsync status`. */
export const run: Run<StatusCommandOptions> = async (ctx) => {
  const { stateDir } = ctx.config({ stateDir: ctx.opts.stateDir }, { stateDir: "--state-dir" }).daemon;
  const status = await readStatus(stateDir);
  const health = assessStatus(status);
  ctx.out.result({ healthy: health.healthy, problems: health.problems, stateDir, status: status ?? null }, () => {
    if (!status) return `UNHEALTHY: ${health.problems.join("; ")} (${statusPath(stateDir)} not found)`;
    const last = status.lastRun;
    return [
      `${health.healthy ? "healthy" : "UNHEALTHY"}: schedule "${status.schedule}" (UTC), daemon pid ${status.pid} since ${status.daemonStartedAt}`,
      ...health.problems.map((p) => `  problem       ${p}`),
      `  last success  ${status.lastSuccessAt ?? "never"}`,
      `  last run      ${last ? `${last.finishedAt} ${last.ok ? "ok" : last.interrupted ? "interrupted" : "FAILED"} in ${last.seconds.toFixed(1)} s` : "none yet"}`,
      ...(last?.backup ? [`  backup        ${last.backup.id}: ${formatBytes(last.backup.bytes)}, ${last.backup.documents.toLocaleString("en-US")} documents`] : []),
      ...(last?.stages ?? []).map((s) => `    ${s.stage.padEnd(14)} ${s.outcome.padEnd(8)} ${s.seconds.toFixed(1).padStart(6)} s${s.message ? `  ${s.message}` : ""}`),
      `  next run      ${status.nextRunAt ?? "not scheduled"}`,
    ].join("\n");
  });
  if (!health.healthy) ctx.setExitCode(EXIT.failure);
};
