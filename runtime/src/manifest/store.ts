import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError, NotFoundError } from "../errors.js";
import { DATA_PREFIX, MANIFEST_PREFIX, VERIFICATION_PREFIX, idOfKey, latestStartOf, manifestKeyFor, parseManifest, sliceManifestKeyFor, type BackupManifest } from "./manifest.js";
import { compareNewestFirst, newestFirst } from "./order.js";

/**
 * How much a verification checked. "checksum": the stored object's size and SHA-256 matched the
 * manifest, nothing decrypted (a host that holds only the recipient); "read": read back,
 * decrypted, every document parsed, every CRC and count checked; "restore-drill": a read plus a
 * restore into scratch databases, compared.
 */
export type VerificationLevel = "checksum" | "read" | "restore-drill";

/** A verification record: the outcome of one verification, stored beside the backup, never rewritten. */
export interface VerificationRecord {
  readonly id: string;
  readonly verifiedAt: string;
  readonly ok: boolean;
  readonly level: VerificationLevel;
  readonly detail: Record<string, unknown>;
}

/** A backup's verifications in brief: the newest record, and what a checksum-only one stands on. */
export interface VerificationState {
  /** The newest record, passed or failed. */
  readonly last: VerificationRecord;
  /** When `last` is checksum-only: the newest decrypting record ("read" or "restore-drill"), if any. */
  readonly lastFull?: VerificationRecord;
}

/**
 * Whether a backup counts as verified (prune's "newest verified" rule): its newest record passed,
 * and a checksum-only pass does not clear a failed full read before it (the checksum proves the
 * bytes unchanged since the backup, so whatever the read found wrong is still there).
 */
export function countsAsVerified(state: VerificationState | undefined): boolean {
  if (!state?.last.ok) return false;
  return state.last.level !== "checksum" || state.lastFull === undefined || state.lastFull.ok;
}

/** A listed backup: its manifest, and its verifications when listed `withVerifications`. */
export interface BackupEntry {
  readonly manifest: BackupManifest;
  readonly manifestKey: string;
  /** Its newest verification (passed or failed); absent when never verified or not asked for. */
  readonly verification?: VerificationState;
  /** `verification.last` when it counts as verified (see `countsAsVerified`); absent otherwise. */
  readonly lastVerified?: VerificationRecord;
}

/** Reads a JSON-ish object fully as text. */
async function readText(dest: Destination, key: string): Promise<string> {
  return text(await dest.get(key));
}

/**
 * Writes the manifest of a complete backup. Called last, after the object's size and SHA-256
 * were confirmed; this write is what makes the backup exist.
 */
export async function writeManifest(dest: Destination, manifest: BackupManifest): Promise<string> {
  const key = manifest.kind === "oplog-slice" ? sliceManifestKeyFor(manifest.id) : manifestKeyFor(manifest.id);
  await dest.put(key, Readable.from([Buffer.from(JSON.stringify(manifest, null, 2) + "\n")]), { contentType: "application/json" });
  return key;
}

/**
 * Every complete backup in the destination, newest first (`newestFirst`). A manifest that cannot
 * be parsed is reported through `onProblem` and skipped (it never makes a backup appear).
 * Verification states are attached when `withVerifications` is set.
 */
export async function listBackups(dest: Destination, opts: { withVerifications?: boolean; onProblem?: (key: string, err: Error) => void } = {}): Promise<BackupEntry[]> {
  const keys: string[] = [];
  for await (const info of dest.list(MANIFEST_PREFIX)) if (info.key.endsWith(".json")) keys.push(info.key);
  const verifications = opts.withVerifications ? await latestVerifications(dest) : new Map<string, VerificationState>();
  const entries: BackupEntry[] = [];
  for (const key of keys) {
    try {
      const manifest = parseManifest(await readText(dest, key), key);
      // A slice's manifest belongs under oplog/; one here is not a backup, and is reported so that
      // nothing (prune included) takes it for one or for garbage.
      if (manifest.kind !== undefined) throw new IntegrityError(`manifest ${key}: a ${manifest.kind} manifest, not a backup's`);
      const verification = verifications.get(manifest.id);
      entries.push({
        manifest,
        manifestKey: key,
        ...(verification ? { verification } : {}),
        ...(verification && countsAsVerified(verification) ? { lastVerified: verification.last } : {}),
      });
    } catch (err) {
      if (err instanceof NotFoundError) continue; // deleted between list and get
      opts.onProblem?.(key, err instanceof Error ? err : new Error(String(err)));
    }
  }
  return newestFirst(entries, (e) => e.manifest);
}

/**
 * Resolves `ref` ("latest" or a backup id, or a unique id prefix) to its manifest. Throws
 * NotFoundError saying how to list backups when nothing matches. `latest` is the newest backup
 * there is, never an older fallback: when the newest one cannot be used (its manifest is
 * unreadable, or its data object has no manifest at all), throws IntegrityError naming it, why,
 * and the id of the newest readable backup to ask for instead.
 */
export async function findBackup(dest: Destination, ref: string): Promise<BackupEntry> {
  if (ref === "latest") return findLatest(dest);
  try {
    const key = manifestKeyFor(ref);
    return { manifest: parseManifest(await readText(dest, key), key), manifestKey: key };
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  const all = await listBackups(dest);
  const matches = all.filter((e) => e.manifest.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new NotFoundError(`backup id "${ref}" is ambiguous in ${dest.url} (${matches.length} matches); give more characters`);
  throw new NotFoundError(`no backup "${ref}" in ${dest.url}; run \`cloudsync list --from ${dest.url}\` to see the ids`);
}

/** A backup that exists but cannot be used: placed at the latest time its id allows (`latestStartOf`). */
interface Unusable {
  readonly id: string;
  readonly createdAt: Date;
  readonly why: string;
}

async function findLatest(dest: Destination): Promise<BackupEntry> {
  const unusable: Unusable[] = [];
  const named = new Set<string>();
  const all = await listBackups(dest, {
    onProblem: (key, err) => {
      const id = idOfKey(key);
      named.add(id);
      const createdAt = latestStartOf(id);
      if (createdAt) unusable.push({ id, createdAt, why: `its manifest ${key} cannot be read: ${err.message}` });
    },
  });
  for (const e of all) named.add(e.manifest.id);
  // A data object with no manifest at all may be the newest backup with its manifest lost, or an
  // interrupted one: nothing proves which, so if it may be newer than every manifest, latest is unknown.
  for await (const o of dest.list(DATA_PREFIX)) {
    const id = idOfKey(o.key);
    const createdAt = latestStartOf(id);
    if (named.has(id) || !createdAt) continue;
    unusable.push({ id, createdAt, why: `its data object ${o.key} has no manifest (an interrupted backup, or its manifest was lost), so nothing can be checked against it; if a backup is running, wait for it to finish` });
  }
  const newest = all[0];
  const blocker = newestFirst(unusable)[0];
  if (blocker && (!newest || compareNewestFirst(blocker, newest.manifest) < 0)) {
    const instead = newest
      ? `to use an older backup, give its id instead of latest; the newest readable one is ${newest.manifest.id} (\`cloudsync list --from ${dest.url}\` lists them all)`
      : "no older backup can be read either";
    throw new IntegrityError(`the latest backup in ${dest.url} is ${blocker.id}, and ${blocker.why}. latest never falls back to an older backup: ${instead}`);
  }
  if (!newest) throw new NotFoundError(`no complete backup in ${dest.url}; make one with \`cloudsync backup\``);
  return newest;
}

/** Stores a verification record under `verifications/<id>/<time>.json` (a new object every time). */
export async function writeVerification(dest: Destination, record: VerificationRecord): Promise<string> {
  const stamp = record.verifiedAt.replace(/[-:]/g, "").replace(/\.(\d{3})Z$/, "$1Z");
  const key = `${VERIFICATION_PREFIX}${record.id}/${stamp}.json`;
  await dest.put(key, Readable.from([Buffer.from(JSON.stringify(record, null, 2) + "\n")]), { contentType: "application/json" });
  return key;
}

/**
 * The verification state of every backup id that has records: its newest record (passed or
 * failed) and, when that one is checksum-only, its newest decrypting record. Records are ordered by
 * key (`verifications/<id>/<time>.json`). A record naming another id is ignored; one that is not
 * JSON throws IntegrityError naming it.
 */
export async function latestVerifications(dest: Destination): Promise<Map<string, VerificationState>> {
  const keysById = new Map<string, string[]>();
  for await (const info of dest.list(VERIFICATION_PREFIX)) {
    const id = idOfKey(info.key);
    if (!id) continue;
    keysById.set(id, [...(keysById.get(id) ?? []), info.key]);
  }
  const out = new Map<string, VerificationState>();
  for (const [id, keys] of keysById) {
    let last: VerificationRecord | undefined;
    // Newest first; older records are read only to find what a checksum-only pass stands on.
    for (const key of [...keys].sort().reverse()) {
      const rec = await readVerification(dest, key, id);
      if (!rec) continue;
      if (!last) {
        last = rec;
        if (rec.level !== "checksum") break;
      } else if (rec.level !== "checksum") {
        out.set(id, { last, lastFull: rec });
        break;
      }
    }
    if (last && !out.has(id)) out.set(id, { last });
  }
  return out;
}

async function readVerification(dest: Destination, key: string, id: string): Promise<VerificationRecord | undefined> {
  let rec: VerificationRecord;
  try {
    rec = JSON.parse(await readText(dest, key)) as VerificationRecord;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    if (err instanceof SyntaxError) throw new IntegrityError(`verification record ${key} is not valid JSON`);
    throw err;
  }
  return rec && typeof rec === "object" && rec.id === id ? rec : undefined;
}
