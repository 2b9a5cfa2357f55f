import type { Command } from "commander";
import type { CliApp } from "../app.js";

/** The options of `cloudsync list`, declared by its flags below. */
export interface ListCommandOptions {
  readonly from?: string;
  readonly oplog?: boolean;
}

/** `cloudsync list`: complete backups only, newest first. */
export function register(program: Command, app: CliApp): void {
  program
    .command("list")
    .description("List complete backups (those with a manifest), newest first, with each one's last verification: passed or FAILED, its level and when")
    .option("-f, --from <destination>", "where backups are stored (default ./backups or CLOUDSYNC_DESTINATION)")
    .option("--oplog", "list the oplog slices (oplog follow) instead: each one, the restorable window of each base backup (restore --to-time), and the gaps")
    .action(app.action<ListCommandOptions>(async () => (await import("./list.run.js")).run));
}

/** Left-aligned text table with two spaces between columns. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}
