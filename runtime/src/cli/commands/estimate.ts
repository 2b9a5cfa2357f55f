import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** The options of `cloudsync estimate`, declared by its flags below. */
export interface EstimateCommandOptions {
  readonly from?: string;
  readonly uri?: string;
  readonly prices?: string;
  readonly cloudDays?: string;
  readonly perDay?: string;
  /** `--no-verify-from-cloud` makes it false. */
  readonly verifyFromCloud: boolean;
}

/**
 * `cloudsync estimate`: storage and monthly cost per provider from the live database's size
 * (when --uri or MONGODB_URI is given) and the recent backups in `--from`. The database is
 * optional: when it cannot be measured the reason is printed and the backups carry the estimate.
 */
export function register(program: Command, app: CliApp): void {
  program
    .command("estimate")
    .description("Estimate storage and monthly cost per provider from the database's size and the recent backups' sizes and growth")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--uri <mongodb-uri>", "measure the collections a backup of this database would dump (default MONGODB_URI when set; otherwise not measured)")
    .option("--prices <file>", "price table JSON (same shape as the built-in, dated table)")
    .option("--cloud-days <n>", "days a backup is kept in the cloud (default 30; local days come from keepWithin)")
    .option("--per-day <n>", "backups made per day (default 1)")
    .option("--no-verify-from-cloud", "backups are not read back from the cloud by verify (no verification egress)")
    .action(app.action<EstimateCommandOptions>(async () => (await import("./estimate.run.js")).run));
}
