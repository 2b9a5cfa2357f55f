import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** The options of `cloudsync status`, declared by its flags below. */
export interface StatusCommandOptions {
  readonly stateDir?: string;
}

/**
 * `cloudsync status [--json] [--state-dir DIR]`: prints the daemon's status.json and exits 1 when
 * the last run failed, the last success is older than twice the schedule interval, or no status
 * exists (failing), or, with --oplog-follow, an oplog gap is unresolved or the follower is down
 * (degraded); the container HEALTHCHECK runs it.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("status")
    .description("Show the backup daemon's last run and next run; exits 1 when the last run failed or backups are overdue")
    .option("--state-dir <dir>", "the daemon's state directory (default CLOUDSYNC_STATE_DIR, else $XDG_STATE_HOME/cloudsync)")
    .action(app.action<StatusCommandOptions>(async () => (await import("./status.run.js")).run));
}
