import { randomBytes } from "node:crypto";
import type { Compression, CompressionChoice } from "../compression/kinds.js";
import type { EncryptionScheme } from "../crypto/describe.js";
import { IntegrityError } from "../errors.js";

/** Version of the manifest document format; readers refuse newer major versions. */
export const MANIFEST_FORMAT = 1;

/** Per-namespace facts taken from the archive's EOF headers as the backup was made. */
export interface ManifestNamespace {
  readonly ns: string;
  readonly documents: number;
  /** Raw BSON bytes of the namespace's documents. */
  readonly bytes: number;
  /** CRC-64/XZ of the raw documents as stored in the archive (signed int64, decimal). */
  readonly crc: string;
}

/** How consistent the dump was; `fuzzy` unless the source proved more. */
export interface ManifestConsistency {
  readonly mode: "snapshot" | "oplog-window" | "fuzzy" | "archive";
  readonly detail?: Record<string, unknown>;
}

/** A point in the oplog: seconds since the epoch and the ordinal within the second (a BSON Timestamp). */
export interface OplogTime {
  readonly t: number;
  readonly i: number;
}

/** Orders two oplog times exactly: seconds, then the ordinal within the second. */
export function compareTimes(a: OplogTime, b: OplogTime): number {
  return a.t !== b.t ? a.t - b.t : a.i - b.i;
}

/** `t,i`, as the CLI takes and prints oplog times. */
export function formatTime(ts: OplogTime): string {
  return `${ts.t},${ts.i}`;
}

/**
 * What an oplog slice holds (issue 15 §1): the entries after `after` up to and including `last`,
 * in oplog order, with nothing left out unless `gap` says so.
 */
export interface OplogSliceInfo {
  /** The position the slice continues from (exclusive): the previous slice's `last`, or the base's oplog end. */
  readonly after: OplogTime;
  readonly first: OplogTime;
  readonly last: OplogTime;
  readonly entries: number;
  /** The previous slice of the chain; null for the first slice after a base backup. */
  readonly previous: string | null;
  /** The base backup the chain started from. */
  readonly base: string;
  /**
   * Set when the oplog had rolled past `after` before this slice was read: entries after `from`
   * and before `to` are lost (`to` is the oldest entry the oplog still had, and is in this slice).
   */
  readonly gap?: { readonly from: OplogTime; readonly to: OplogTime };
}

/**
 * The record of one complete backup. Written last, only after the stored object's size and
 * SHA-256 were confirmed: an object without a manifest is not a backup. Holds no secrets:
 * encryption is described by recipient fingerprints, sources by redacted descriptions.
 */
export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly id: string;
  /** Absent for a backup; "oplog-slice" for a slice of captured oplog (then `oplog` is set). */
  readonly kind?: "oplog-slice";
  readonly oplog?: OplogSliceInfo;
  /** When the backup started (ISO 8601, UTC). */
  readonly createdAt: string;
  /** When the object was confirmed stored (ISO 8601, UTC). */
  readonly completedAt: string;
  readonly tool: { readonly name: "cloudsync"; readonly version: string };
  readonly archive: {
    readonly format: "mongodump-archive";
    readonly version: string;
    readonly serverVersion: string;
    readonly toolVersion: string;
  };
  readonly source: { readonly kind: "archive-file" | "stdin" | "mongodb" | "demo"; readonly description: string };
  readonly consistency: ManifestConsistency;
  readonly namespaces: readonly ManifestNamespace[];
  readonly totals: { readonly namespaces: number; readonly documents: number; readonly archiveBytes: number };
  readonly compression: CompressionChoice;
  readonly encryption: { readonly scheme: EncryptionScheme; readonly recipients: readonly string[] };
  readonly object: { readonly key: string; readonly size: number; readonly sha256: string };
}

/**
 * A new backup id: UTC time to the second then 6 random hex digits, e.g.
 * `20261124T221500Z-3fa9c1`. Ids begin with the creation time to the second; backups are ordered
 * by `newestFirst` (manifest/order.ts), never by id alone.
 */
export function newBackupId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

const ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** True when `id` has the shape `newBackupId` produces. */
export function isBackupId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * The latest moment backup `id` can have started: the end of the second its id names. Used to
 * place a backup whose manifest cannot be read (or is missing) among the others, so that it is
 * never ranked older than it might be. Undefined when `id` is not a backup id.
 */
export function latestStartOf(id: string): Date | undefined {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-[0-9a-f]{6}$/.exec(id);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const t = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, 999);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * The name suffix of a stored object, one per stage it went through, as stock tools expect:
 * `.gz` or `.zst` for the compression, then `.age` or `.gpg` for the encryption (nothing for
 * "none"). The one naming rule of backups and seed sets.
 */
export function objectSuffix(compression: Compression, scheme: EncryptionScheme): string {
  const comp = compression === "gzip" ? ".gz" : compression === "zstd" ? ".zst" : "";
  const enc = scheme.startsWith("age") ? ".age" : scheme === "openpgp" ? ".gpg" : "";
  return `${comp}${enc}`;
}

/** Object key of a backup's data, by id and the stages it went through (`data/<id>.archive.gz.age`). */
export function objectKeyFor(id: string, compression: Compression, scheme: EncryptionScheme): string {
  return `data/${id}.archive${objectSuffix(compression, scheme)}`;
}

/** Key prefix of oplog slices: `oplog/manifests/<id>.json` and `oplog/data/<id>.oplog…`, apart from backups. */
export const OPLOG_PREFIX = "oplog/";

/** Key prefix of slice manifests (`oplog/manifests/<id>.json`). */
export const SLICE_MANIFEST_PREFIX = `${OPLOG_PREFIX}manifests/`;
/** Key prefix of slice data objects (`oplog/data/<id>.oplog.archive…`). */
export const SLICE_DATA_PREFIX = `${OPLOG_PREFIX}data/`;

/** Object key of an oplog slice's data (`oplog/data/<id>.oplog.archive.gz.age`). */
export function sliceObjectKeyFor(id: string, compression: Compression, scheme: EncryptionScheme): string {
  return `${SLICE_DATA_PREFIX}${id}.oplog.archive${objectSuffix(compression, scheme)}`;
}

/** Key of an oplog slice's manifest. */
export function sliceManifestKeyFor(id: string): string {
  return `${SLICE_MANIFEST_PREFIX}${id}.json`;
}

/** Key of a backup's manifest. */
export function manifestKeyFor(id: string): string {
  return `manifests/${id}.json`;
}

/**
 * The backup id a stored key belongs to: the first segment after `manifests/`, `data/` or
 * `verifications/`, up to its first dot (`data/<id>.archive.gz.age` → `<id>`). Not checked
 * against the id shape; see `isBackupId`.
 */
export function idOfKey(key: string): string {
  const rest = key.slice(key.indexOf("/") + 1);
  return rest.split("/")[0]?.split(".")[0] ?? "";
}

/** Key prefix under which manifests live. */
export const MANIFEST_PREFIX = "manifests/";
/** Key prefix under which backup data objects live. */
export const DATA_PREFIX = "data/";
/** Key prefix under which verification records live (one object per verification, never rewritten). */
export const VERIFICATION_PREFIX = "verifications/";

/**
 * Parses and checks a manifest document. Throws IntegrityError naming `where` when it is not a
 * cloudsync manifest of a format this version understands.
 */
export function parseManifest(text: string, where: string): BackupManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new IntegrityError(`manifest ${where}: not valid JSON (${(err as Error).message})`);
  }
  const m = doc as Partial<BackupManifest> | null;
  const problems: string[] = [];
  if (!m || typeof m !== "object") throw new IntegrityError(`manifest ${where}: not a JSON object`);
  if (m.format !== MANIFEST_FORMAT) problems.push(`format ${String(m.format)} is not ${MANIFEST_FORMAT} (a newer cloudsync wrote it? upgrade)`);
  if (typeof m.id !== "string" || !isBackupId(m.id)) problems.push("id is missing or malformed");
  if (!m.object || typeof m.object.key !== "string" || typeof m.object.size !== "number" || !/^[0-9a-f]{64}$/.test(String(m.object.sha256))) problems.push("object {key,size,sha256} is missing or malformed");
  if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) problems.push("createdAt is missing or not a date");
  if (!Array.isArray(m.namespaces)) problems.push("namespaces is missing");
  if (m.kind !== undefined && m.kind !== "oplog-slice") problems.push(`kind "${String(m.kind)}" is not one this version knows (a newer cloudsync wrote it? upgrade)`);
  if (m.kind === "oplog-slice" && !validSlice(m.oplog)) problems.push("oplog {after,first,last,entries,previous,base} is missing or malformed");
  if (problems.length) throw new IntegrityError(`manifest ${where}: ${problems.join("; ")}`);
  return m as BackupManifest;
}

function validTime(t: unknown): boolean {
  const x = t as OplogTime | undefined;
  return !!x && Number.isInteger(x.t) && Number.isInteger(x.i) && x.t >= 0 && x.i >= 0;
}

function validSlice(o: OplogSliceInfo | undefined): boolean {
  return !!o && validTime(o.after) && validTime(o.first) && validTime(o.last) && Number.isInteger(o.entries) && (o.previous === null || typeof o.previous === "string") && typeof o.base === "string" && (o.gap === undefined || (validTime(o.gap.from) && validTime(o.gap.to)));
}
