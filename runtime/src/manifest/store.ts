import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError, NotFoundError } from "../errors.js";
import { MANIFEST_PREFIX, VERIFICATION_PREFIX, manifestKeyFor, parseManifest, type BackupManifest } from "./manifest.js";

/** A verification record: the outcome of one `verify` run, stored beside the backup, never rewritten. */
export interface VerificationRecord {
  readonly id: string;
  readonly verifiedAt: string;
  readonly ok: boolean;
  /** "read" (object read back, decrypted, parsed, every CRC and count checked) or "restore-drill". */
  readonly level: "read" | "restore-drill";
  readonly detail: Record<string, unknown>;
}

/** A listed backup: its manifest plus when it was last verified successfully. */
export interface BackupEntry {
  readonly manifest: BackupManifest;
  readonly manifestKey: string;
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
  const key = manifestKeyFor(manifest.id);
  await dest.put(key, Readable.from([Buffer.from(JSON.stringify(manifest, null, 2) + "\n")]), { contentType: "application/json" });
  return key;
}

/**
 * Every complete backup in the destination, newest first. A manifest that cannot be parsed is
 * reported through `onProblem` and skipped (it never makes a backup appear). Verification
 * records are attached when `withVerifications` is set.
 */
export async function listBackups(dest: Destination, opts: { withVerifications?: boolean; onProblem?: (key: string, err: unknown) => void } = {}): Promise<BackupEntry[]> {
  const keys: string[] = [];
  for await (const info of dest.list(MANIFEST_PREFIX)) if (info.key.endsWith(".json")) keys.push(info.key);
  const verifications = opts.withVerifications ? await latestVerifications(dest) : new Map<string, VerificationRecord>();
  const entries: BackupEntry[] = [];
  for (const key of keys) {
    try {
      const manifest = parseManifest(await readText(dest, key), key);
      const lastVerified = verifications.get(manifest.id);
      entries.push(lastVerified ? { manifest, manifestKey: key, lastVerified } : { manifest, manifestKey: key });
    } catch (err) {
      if (err instanceof NotFoundError) continue; // deleted between list and get
      opts.onProblem?.(key, err);
    }
  }
  return entries.sort((a, b) => (a.manifest.id < b.manifest.id ? 1 : a.manifest.id > b.manifest.id ? -1 : 0));
}

/**
 * Resolves `ref` ("latest" or a backup id, or a unique id prefix) to its manifest. Throws
 * NotFoundError saying how to list backups when nothing matches.
 */
export async function findBackup(dest: Destination, ref: string): Promise<BackupEntry> {
  if (ref !== "latest") {
    try {
      const key = manifestKeyFor(ref);
      return { manifest: parseManifest(await readText(dest, key), key), manifestKey: key };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  const all = await listBackups(dest);
  if (ref === "latest") {
    if (!all[0]) throw new NotFoundError(`no complete backup in ${dest.url}; make one with \`cloudsync backup\``);
    return all[0];
  }
  const matches = all.filter((e) => e.manifest.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new NotFoundError(`backup id "${ref}" is ambiguous in ${dest.url} (${matches.length} matches); give more characters`);
  throw new NotFoundError(`no backup "${ref}" in ${dest.url}; run \`cloudsync list --from ${dest.url}\` to see the ids`);
}

/** Stores a verification record under `verifications/<id>/<time>.json` (a new object every time). */
export async function writeVerification(dest: Destination, record: VerificationRecord): Promise<string> {
  const stamp = record.verifiedAt.replace(/[-:]/g, "").replace(/\.(\d{3})Z$/, "$1Z");
  const key = `${VERIFICATION_PREFIX}${record.id}/${stamp}.json`;
  await dest.put(key, Readable.from([Buffer.from(JSON.stringify(record, null, 2) + "\n")]), { contentType: "application/json" });
  return key;
}

/** The newest successful verification record per backup id. */
export async function latestVerifications(dest: Destination): Promise<Map<string, VerificationRecord>> {
  const newest = new Map<string, string>();
  for await (const info of dest.list(VERIFICATION_PREFIX)) {
    const id = info.key.slice(VERIFICATION_PREFIX.length).split("/")[0];
    if (!id) continue;
    const prev = newest.get(id);
    if (!prev || info.key > prev) newest.set(id, info.key);
  }
  const out = new Map<string, VerificationRecord>();
  for (const [id, key] of newest) {
    try {
      const rec = JSON.parse(await readText(dest, key)) as VerificationRecord;
      if (rec.ok && rec.id === id) out.set(id, rec);
    } catch (err) {
      if (!(err instanceof NotFoundError) && !(err instanceof SyntaxError)) throw err;
      if (err instanceof SyntaxError) throw new IntegrityError(`verification record ${key} is not valid JSON`);
    }
  }
  return out;
}
