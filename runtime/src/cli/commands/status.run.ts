// The implementation of `cloudsync status`, imported by ./status.ts only when the command runs, so that
// its dependencies load only then.
import { assessStatus, describeTime, isUnresolved, readStatus, statusPath, type OplogFollowerStatus } from "../../daemon/status.js";
import { EXIT } from "../../errors.js";
import { formatBytes } from "../progress.js";
import type { Run } from "../app.js";
import type { StatusCommandOptions } from "./status.js";

/** Runs `cloudsync status`. */
export const run: Run<StatusCommandOptions> = async (ctx) => {
  const { stateDir } = ctx.config({ stateDir: ctx.opts.stateDir }, { stateDir: "--state-dir" }).daemon;
  const status = await readStatus(stateDir);
  const health = assessStatus(status);
  ctx.out.result({ healthy: health.healthy, health: health.level, problems: health.problems, stateDir, status: status ?? null }, () => {
    if (!status) return `UNHEALTHY: ${health.problems.join("; ")} (${statusPath(stateDir)} not found)`;
    const last = status.lastRun;
    return [
      `${health.healthy ? "healthy" : health.level === "degraded" ? "DEGRADED" : "UNHEALTHY"}: schedule "${status.schedule}" (UTC), daemon pid ${status.pid} since ${status.daemonStartedAt}`,
      ...health.problems.map((p) => `  problem       ${p}`),
      `  last success  ${status.lastSuccessAt ?? "never"}`,
      `  last run      ${last ? `${last.finishedAt} ${last.ok ? "ok" : last.interrupted ? "interrupted" : "FAILED"} in ${last.seconds.toFixed(1)} s${last.reason ? ` (${last.reason})` : ""}` : "none yet"}`,
      ...(last?.backup ? [`  backup        ${last.backup.id}: ${formatBytes(last.backup.bytes)}, ${last.backup.documents.toLocaleString("en-US")} documents`] : []),
      ...(last?.stages ?? []).map((s) => `    ${s.stage.padEnd(14)} ${s.outcome.padEnd(8)} ${s.seconds.toFixed(1).padStart(6)} s${s.message ? `  ${s.message}` : ""}`),
      `  next run      ${status.nextRunAt ?? "not scheduled"}`,
      ...(status.oplog ? followerLines(status.oplog) : []),
    ].join("\n");
  });
  if (!health.healthy) ctx.setExitCode(EXIT.failure);
};

/** The oplog follower's lines of the text output: state, position, lag, last slice, then each gap. */
function followerLines(f: OplogFollowerStatus): string[] {
  return [
    `  oplog         ${f.state}${f.mode ? ` (${f.mode})` : ""} into ${f.destination}, ${f.slices} slice${f.slices === 1 ? "" : "s"} stored since start, ${f.restarts} restart${f.restarts === 1 ? "" : "s"}`,
    `    captured to ${f.position ? describeTime(f.position) : "nothing yet"}, lag ${f.lagSeconds} s (as of ${f.updatedAt})`,
    ...(f.lastSlice ? [`    last slice  ${f.lastSlice.id}: ${f.lastSlice.entries} entries, ${describeTime(f.lastSlice.first)} to ${describeTime(f.lastSlice.last)}, stored ${f.lastSlice.storedAt}`] : []),
    ...(f.lastError ? [`    last error  ${f.lastError.at}: ${f.lastError.message}`] : []),
    ...f.gaps.map((g) =>
      `    gap         after ${describeTime(g.from)}, before ${describeTime(g.to)}: ${isUnresolved(g) ? `UNRESOLVED${g.baseStartedAt ? `, new base backup started ${g.baseStartedAt}` : ""}` : `resolved by base backup ${g.resolvedBy} (${g.resolvedAt ?? "?"})`}`,
    ),
  ];
}
