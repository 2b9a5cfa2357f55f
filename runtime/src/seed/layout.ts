/**
 * The on-disk layout of a seed set, one directory:
 *
 *   seed.json                       format, version and the collections, sorted by namespace
 *   data/<db>/<coll>.ejson          canonical Extended JSON v2, one document per line, by _id
 *   data/<db>/<coll>.metadata.json  collection options and index specs (canonical Extended JSON)
 *   SHA256SUMS                      `sha256sum` format over every other file; written last
 *
 * Nothing in it depends on time or on the server's read order, so the same data always gives
 * byte-identical files, and `sha256sum -c SHA256SUMS` checks a set with stock tools.
 */
import { IntegrityError } from "../errors.js";

/** Name of the checksum file. */
export const CHECKSUM_FILE = "SHA256SUMS";
/** Name of the index file. */
export const INDEX_FILE = "seed.json";
/** Value of `format` in seed.json. */
export const SEED_FORMAT = "cloudsync-seed";
/** Current layout version. */
export const SEED_VERSION = 1;

/** One collection in seed.json. */
export interface SeedCollection {
  readonly ns: string;
  /** Relative path of the documents file. */
  readonly data: string;
  /** Relative path of the metadata file. */
  readonly metadata: string;
  readonly documents: number;
}

/** The parsed seed.json. */
export interface SeedIndex {
  readonly format: typeof SEED_FORMAT;
  readonly version: number;
  readonly collections: SeedCollection[];
}

/**
 * A file-name-safe spelling of a database or collection name: characters outside
 * `[A-Za-z0-9._-]` become `%XX` of their UTF-8 bytes (so `/`, `:` and non-ASCII names are safe on
 * every file system), and a leading dot is escaped so no part is hidden or `..`.
 */
export function escapeName(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) || (ch === "." && out.length > 0) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Relative paths of one namespace's files. */
export function pathsFor(db: string, collection: string): { data: string; metadata: string } {
  const base = `data/${escapeName(db)}/${escapeName(collection)}`;
  return { data: `${base}.ejson`, metadata: `${base}.metadata.json` };
}

/** The SHA256SUMS text for `sums` (relative path → hex), sorted by path, `sha256sum` format. */
export function formatChecksums(sums: ReadonlyMap<string, string>): string {
  return [...sums.keys()].sort().map((p) => `${sums.get(p)}  ${p}\n`).join("");
}

/**
 * Parses SHA256SUMS. Throws IntegrityError for a malformed line, an absolute or `..` path, or a
 * path listed twice.
 */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new IntegrityError(`seed ${CHECKSUM_FILE}:${i + 1}: not "<sha256>  <path>"`);
    const p = m[2] as string;
    if (p.startsWith("/") || p.split("/").includes("..")) throw new IntegrityError(`seed ${CHECKSUM_FILE}:${i + 1}: path ${p} leaves the seed directory`);
    if (out.has(p)) throw new IntegrityError(`seed ${CHECKSUM_FILE}:${i + 1}: ${p} is listed twice`);
    out.set(p, m[1] as string);
  });
  return out;
}

/** Parses seed.json, throwing IntegrityError when it is not a seed index this version reads. */
export function parseIndex(text: string): SeedIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new IntegrityError(`seed ${INDEX_FILE}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const idx = doc as Partial<SeedIndex> | null;
  if (!idx || idx.format !== SEED_FORMAT || !Array.isArray(idx.collections)) throw new IntegrityError(`seed ${INDEX_FILE}: not a cloudsync seed index (format must be "${SEED_FORMAT}")`);
  if (idx.version !== SEED_VERSION) throw new IntegrityError(`seed ${INDEX_FILE}: version ${String(idx.version)} is not supported (this cloudsync reads version ${SEED_VERSION})`);
  for (const c of idx.collections) {
    if (typeof c?.ns !== "string" || typeof c.data !== "string" || typeof c.metadata !== "string" || typeof c.documents !== "number") {
      throw new IntegrityError(`seed ${INDEX_FILE}: a collection entry lacks ns, data, metadata or documents`);
    }
  }
  return idx as SeedIndex;
}
