import type { Command } from "commander";
import { assessStatus, readStatus, statusPath } from "../../daemon/status.js";
import { EXIT } from "../../errors.js";
import type { CliApp } from "../app.js";
import { formatBytes } from "../progress.js";

/**
 * `cloudsync status [--json] [--state-dir DIR]`: prints the daemon's status.json and exits 1 when
 * the last run failed, the last success is older than twice the schedule interval, or no status
 * exists (the container HEALTHCHECK runs it).
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("status")
    .description("Show the backup daemon's last run and next run; exits 1 when the last run failed or backups are overdue")
    .option("--state-dir <dir>", "the daemon's state directory (default CLOUDSYNC_STATE_DIR, else $XDG_STATE_HOME/cloudsync)")
    .action(
      app.action(async (ctx) => {
        const { stateDir } = ctx.config({ stateDir: ctx.opts.stateDir as string | undefined }, { stateDir: "--state-dir" }).daemon;
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
        if (!health.healthy) app.setExitCode(EXIT.failure);
      }),
    );
}
