import { createHash } from "node:crypto";
import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stateHome } from "../config/config.js";
import { describeLocalIO, IntegrityError } from "../errors.js";
import { PUBLIC_MODEL_FIELDS, type PublicModel } from "./public-schema.js";

/** Default state file: `metadata-sync.json` in cloudsync's state folder ({@link stateHome}: `$XDG_STATE_HOME/cloudsync`). */
export function defaultSyncStatePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateHome(env), "metadata-sync.json");
}

/**
 * What the sync client remembers between runs. `acked` holds, per model id, the hash of the
 * public document the server acknowledged last: a model is pushed again only when its hash
 * changes, and an id that disappears from the source becomes a tombstone.
 */
export interface SyncState {
  readonly format: 1;
  /** Push URL the acks came from; another endpoint means nothing is known to be there. */
  endpoint: string;
  acked: Record<string, string>;
  /** Last change-stream resume token (opaque, as MongoDB returned it). */
  resumeToken?: unknown;
  /** Highest `updatedAt` seen by the polling watcher (ISO string). */
  lastUpdatedAt?: string;
}

/** A fresh state for `endpoint`. */
export function emptyState(endpoint: string): SyncState {
  return { format: 1, endpoint, acked: {} };
}

/**
 * Reads the state file; a missing file gives `emptyState(endpoint)`. Throws `IntegrityError`
 * when the file exists but is not a state file (delete it or run with --full).
 */
export function loadState(statePath: string, endpoint: string): SyncState {
  let text: string;
  try {
    text = readFileSync(statePath, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState(endpoint);
    throw describeLocalIO(err, `read sync state ${statePath}`);
  }
  const notState = (why: string): IntegrityError => new IntegrityError(`sync state ${statePath} is not a cloudsync state file (${why}); delete it to resync everything`);
  let s: SyncState;
  try {
    s = JSON.parse(text) as SyncState;
  } catch (err) {
    throw notState((err as Error).message);
  }
  if (s?.format !== 1 || typeof s.acked !== "object" || s.acked === null || typeof s.endpoint !== "string") throw notState("unexpected shape");
  return s;
}

/**
 * Writes the state atomically: temporary file, fsync, rename, fsync of the directory, so a
 * crash leaves the old or the new state, never a torn one. Throws `LocalIOError` for disk
 * problems.
 */
export function saveState(statePath: string, state: SyncState): void {
  const dir = path.dirname(statePath);
  const tmp = `${statePath}.tmp-${process.pid}`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    const fd = openSync(tmp, "r");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, statePath);
    const dfd = openSync(dir, "r");
    fsyncSync(dfd);
    closeSync(dfd);
  } catch (err) {
    throw describeLocalIO(err, `write sync state ${statePath}`);
  }
}

/** Hash of a public document independent of key order (what `acked` stores). */
export function modelHash(m: PublicModel): string {
  const ordered: Record<string, unknown> = {};
  for (const f of PUBLIC_MODEL_FIELDS) if (m[f] !== undefined) ordered[f] = m[f];
  return createHash("sha256").update(JSON.stringify(ordered)).digest("base64url").slice(0, 22);
}
