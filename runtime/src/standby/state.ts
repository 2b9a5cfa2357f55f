/**
 * The standby's state file: where it is in the primary's history (the change stream's resume
 * token, or the last backup restored) and what the last tick saw, so a restart carries on where
 * it stopped and `cloudsync standby --status` can answer without connecting anywhere.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { BSON, type ResumeToken } from "mongodb";
import { ConfigError, describeLocalIO } from "../errors.js";

/** How the standby follows the primary. */
export type StandbyMode = "change-stream" | "full-copy" | "backups";

/** What one tick of the standby saw; also the `--json` status. */
export interface StandbyStatus {
  readonly mode: StandbyMode;
  /** Why this mode: e.g. why change streams were not used. */
  readonly reason: string;
  /** When the tick ended (ISO 8601). */
  readonly at: string;
  /**
   * Seconds the standby is behind the primary: in change-stream mode now minus the last applied
   * event's cluster time (0 when the stream had nothing more), otherwise now minus the time the
   * copied data was read (the pass's start, or the backup's `createdAt`). Absent before a first pass.
   */
  readonly lagSeconds?: number;
  /** Changes applied by this tick (events, or documents written and deleted by a pass). */
  readonly applied: number;
  readonly namespaces: readonly string[];
}

/** The persisted state. Written whole, atomically (temporary file then rename). */
export interface StandbyState {
  readonly version: 1;
  /** Change-stream resume token (absent until the first initial copy finished). */
  readonly resumeToken?: ResumeToken;
  /** Id of the last backup restored in `backups` mode. */
  readonly backupId?: string;
  /** In the pass modes, when the data now on the standby was read (ISO 8601): the lag reference. */
  readonly readAt?: string;
  readonly last?: StandbyStatus;
}

/**
 * Reads the state at `path`; a missing file is the empty state `{ version: 1 }`. Throws
 * ConfigError (`--state`) when the file is not a state file this version understands.
 */
export async function loadState(path: string): Promise<StandbyState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1 };
    throw describeLocalIO(err, `read ${path}`);
  }
  let parsed: unknown;
  try {
    // Extended JSON: a resume token may hold BSON types (binary, timestamps) plain JSON would lose.
    parsed = BSON.EJSON.parse(text, { relaxed: true });
  } catch (err) {
    throw new ConfigError("--state", `${path} is not a standby state file (${(err as Error).message}); move it away to start over`);
  }
  if (!parsed || typeof parsed !== "object" || (parsed as { version?: unknown }).version !== 1) {
    throw new ConfigError("--state", `${path} is not a version 1 standby state file; move it away to start over`);
  }
  return parsed as StandbyState;
}

/** Writes `state` to `path` so that a crash leaves either the old or the new file, never half of one. */
export async function saveState(path: string, state: StandbyState): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, BSON.EJSON.stringify(state, undefined, 2, { relaxed: true }) + "\n", { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    throw describeLocalIO(err, `write ${path}`);
  }
}
