import type { Command } from "commander";
import { DAY, DURATION_DOC, parseDuration, SECOND } from "../../config/duration.js";
import { type StandbyStatus } from "../../standby/state.js";
import type { CliApp } from "../app.js";
import { addDecryptionFlags, collect, type DecryptionFlagOptions } from "../common.js";

/** The options of `cloudsync standby`, declared by its flags below. */
export interface StandbyCommandOptions extends DecryptionFlagOptions {
  readonly primary?: string;
  readonly standby?: string;
  readonly state: string;
  readonly include: string[];
  readonly exclude: string[];
  readonly once?: boolean;
  readonly interval: string;
  readonly fromBackups?: string;
  readonly status?: boolean;
}

/**
 * Parses `--interval`, a duration (config/duration.ts) from 1 s to 24 d (the longest a Node timer
 * waits in one go). Throws ConfigError (`--interval`) otherwise.
 */
export function parseInterval(text: string): number {
  return parseDuration(text, { name: "--interval", min: SECOND, max: 24 * DAY });
}

/** One status line as printed on each tick. */
export function statusLine(s: StandbyStatus): string {
  const lag = s.lagSeconds === undefined ? "lag unknown" : `lag ${s.lagSeconds} s`;
  return `${s.at} ${s.mode}: ${lag}, ${s.applied} change(s) applied, ${s.namespaces.length} namespace(s)`;
}

/**
 * `cloudsync standby --standby <uri> (--primary <uri> | --from-backups <dest>)`: keep a warm
 * standby and report its lag; `--status` prints the last saved status without connecting.
 */
export function register(program: Command, app: CliApp): void {
  const cmd = program
    .command("standby")
    .description("Keep a standby MongoDB warm: follow the primary's change stream (resume token persisted), else copy the included namespaces periodically, or restore the latest backup; reports lag")
    .option("--primary <uri>", "the primary MongoDB connection string (e.g. Atlas after the cut-over)")
    .option("--standby <uri>", "the standby MongoDB connection string (e.g. the home server)")
    .option("--state <file>", "state file: resume token and last status", "./cloudsync-standby.json")
    .option("--include <ns>", "namespace pattern to mirror, db.coll or db.* (repeatable; default every collection)", collect, [])
    .option("--exclude <ns>", "namespace pattern to leave out (repeatable)", collect, [])
    .option("--once", "one pass (change streams: until caught up), then exit")
    .option("--interval <duration>", `time between passes and between status reports, e.g. 30s, 5m (minutes), 1h; ${DURATION_DOC}`, "60s")
    .option("--from-backups <destination>", "restore the latest backup from this destination instead of reading the primary")
    .option("--status", "print the last status saved in the state file and exit, connecting to nothing");
  addDecryptionFlags(cmd).action(app.action<StandbyCommandOptions>(async () => (await import("./standby.run.js")).run));
}
