/**
 * The mongodump directory layout — `<db>/<coll>.bson` (documents back to back) and
 * `<db>/<coll>.metadata.json` (the prelude's metadata text), the oplog as `oplog.bson` at the
 * top — which is what `mongorestore --dir` and `bsondump` read. Both directions: archive events
 * to a directory (atomically), and a directory back to an archive source.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { ConfigError, IntegrityError, describeLocalIO } from "../errors.js";
import { FORMAT_VERSION, MAX_DOCUMENT_SIZE, MIN_BSON_SIZE } from "./format.js";
import { createSummaryCollector } from "./summary.js";
import type { ArchiveEvent, ArchiveSource, ArchiveSourceNamespace, ArchiveSummary, NamespaceMetadata } from "./types.js";

/**
 * A collection name as mongodump spells it in file names: Go's `url.PathEscape`, i.e. every
 * UTF-8 byte outside `A-Z a-z 0-9 - _ . ~ $ & + : = @` becomes `%XX` (upper-case hex).
 */
export function escapeCollectionName(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+:=@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of escapeCollectionName (`url.PathUnescape`). */
export function unescapeCollectionName(file: string): string {
  return decodeURIComponent(file);
}

/** Relative paths of a namespace's files in the dump directory. */
export function dumpPaths(db: string, collection: string): { bson: string; metadata: string } {
  const base = escapeCollectionName(collection);
  // mongodump puts the oplog (db "") at the top of the dump directory.
  const dir = db === "" ? "" : db;
  return { bson: path.join(dir, `${base}.bson`), metadata: path.join(dir, `${base}.metadata.json`) };
}

async function isNonEmptyDirectory(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code === "ENOTDIR") return true;
    throw err;
  }
}

/**
 * Checks that `dir` can receive a dump: it does not exist, or is an empty directory. Writes
 * nothing. Throws ConfigError naming `field` (default "dir") otherwise; other file-system errors
 * propagate.
 */
export async function checkDumpTarget(dir: string, field = "dir"): Promise<void> {
  if (await isNonEmptyDirectory(path.resolve(dir))) {
    throw new ConfigError(field, `${dir} exists and is not empty; restore into a new or empty directory`);
  }
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/**
 * Bytes of documents queued for writing but not yet written, over all files: one decoded chunk
 * may be written on libuv's pool while the next is parsed (they were awaited one by one, and the
 * parse waited). More buys no speed and costs memory: with 8 MiB a 1 GiB gzip restore peaked at
 * 129–134 MiB RSS, with 1 MiB at 99–101 (the chunks live longer, past V8's young collections).
 */
const MAX_QUEUED_WRITE_BYTES = 1024 * 1024;

/**
 * A `.bson` file's writes are flushed to disk in the background every this many bytes, so the
 * disk works while the archive is still being read: otherwise the kernel starts writing back
 * only at the fsync of the file's end, and a restore waited for the whole file there (measured:
 * ≈ 1.5 s for 1 GiB on the 2-core machine's disk).
 */
const BACKGROUND_SYNC_BYTES = 32 * 1024 * 1024;

/** One namespace's `.bson` file: writes in order, each queued behind the previous one. */
interface BsonFile {
  readonly fh: FileHandle;
  /** Resolves when every queued write has completed; rejects with the first failure. */
  tail: Promise<void>;
  /** Bytes queued so far: where the next write goes. */
  position: number;
  /** Position at which the last background flush was started. */
  syncedAt: number;
}

/**
 * The documents of one `documents` event as few buffers as possible: the scanner hands out views
 * of its input chunk, and documents side by side in one chunk become a single view, not a copy.
 */
function coalesce(docs: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer | undefined;
  for (const d of docs) {
    if (run && d.buffer === run.buffer && d.byteOffset === run.byteOffset + run.length) {
      run = Buffer.from(run.buffer, run.byteOffset, run.length + d.length);
    } else {
      if (run) out.push(run);
      run = d;
    }
  }
  if (run) out.push(run);
  return out;
}

/** Writes `buffers` whole at `position`, however many calls the kernel needs. */
async function writevAll(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending, position);
    position += bytesWritten;
    let skip = bytesWritten;
    while (pending.length > 0 && skip >= pending[0]!.length) skip -= pending.shift()!.length;
    if (skip > 0) pending = [pending[0]!.subarray(skip), ...pending.slice(1)];
  }
}

/**
 * Writes the archive read as `events` into the mongodump directory `dir` and returns the
 * archive's summary. Atomic: everything is built in `.<name>.tmp-<random>` beside `dir`, each file
 * fsynced, then the folder is renamed to `dir` and the parent fsynced; on any error (including
 * one thrown by `events`, e.g. an IntegrityError of the archive) the temporary folder is removed
 * and nothing is left. Every namespace gets a `.bson` file (empty for an empty collection) and,
 * when its prelude metadata is not empty, a `.metadata.json` holding that text unchanged.
 *
 * `signal` stops the write: it is checked before every event and again just before the rename, and
 * once it has fired the temporary folder is removed, `dir` is left as it was, and the call rejects
 * with the signal's reason. A source that can stall between events (a decryptor still reading)
 * should be aborted by the same signal, as openBackup's is, so the wait ends too.
 *
 * Errors: ConfigError (field "dir") if `dir` exists and is not an empty directory; LocalIOError
 * for disk full / permission problems; errors of `events` propagate.
 */
export async function writeDumpDirectory(events: AsyncIterable<ArchiveEvent>, dir: string, opts: { signal?: AbortSignal } = {}): Promise<ArchiveSummary> {
  const target = path.resolve(dir);
  await checkDumpTarget(dir);
  opts.signal?.throwIfAborted();
  const parent = path.dirname(target);
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${randomBytes(6).toString("hex")}`);
  const collector = createSummaryCollector();
  const files = new Map<string, BsonFile>();
  /** Every file's last write, background flush and final fsync + close, settled before the rename (or the clean-up). */
  const closing: Promise<void>[] = [];
  const queued: { bytes: number; done: Promise<void> }[] = [];
  let queuedBytes = 0;
  let writeFailure: unknown;
  const dirs = new Set<string>([tmp]);
  let ok = false;

  async function ensureDir(rel: string): Promise<void> {
    const full = path.join(tmp, path.dirname(rel));
    if (!dirs.has(full)) {
      await mkdir(full, { recursive: true });
      dirs.add(full);
    }
  }

  async function fileFor(ns: string): Promise<BsonFile> {
    let file = files.get(ns);
    if (!file) {
      const dot = ns.indexOf(".");
      const rel = dumpPaths(ns.slice(0, dot), ns.slice(dot + 1)).bson;
      await ensureDir(rel);
      file = { fh: await open(path.join(tmp, rel), "wx"), tail: Promise.resolve(), position: 0, syncedAt: 0 };
      files.set(ns, file);
    }
    return file;
  }

  /** Queues the documents behind the file's earlier writes; waits only while too many bytes are queued. */
  async function writeDocuments(file: BsonFile, docs: readonly Buffer[]): Promise<void> {
    const buffers = coalesce(docs);
    const bytes = buffers.reduce((n, b) => n + b.length, 0);
    const at = file.position;
    file.position += bytes;
    if (writeFailure !== undefined) throw writeFailure;
    const done = file.tail.then(() => writevAll(file.fh, buffers, at));
    // The first failure stops the restore at the next event, not after the whole archive was read.
    done.catch((err: unknown) => {
      writeFailure ??= err;
    });
    file.tail = done;
    if (file.position - file.syncedAt >= BACKGROUND_SYNC_BYTES) {
      file.syncedAt = file.position;
      // Not queued: later writes need not wait for the disk. Its failure shows in the final fsync.
      void done.then(() => file.fh.datasync()).catch(() => undefined);
    }
    queued.push({ bytes, done });
    queuedBytes += bytes;
    while (queuedBytes > MAX_QUEUED_WRITE_BYTES) {
      const oldest = queued.shift()!;
      queuedBytes -= oldest.bytes;
      await oldest.done;
    }
  }

  async function writeMetadata(meta: NamespaceMetadata): Promise<void> {
    if (meta.metadata === "") return;
    const rel = dumpPaths(meta.db, meta.collection).metadata;
    await ensureDir(rel);
    const fh = await open(path.join(tmp, rel), "wx");
    try {
      await writeAll(fh, Buffer.from(meta.metadata, "utf8"));
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    for await (const e of events) {
      opts.signal?.throwIfAborted();
      switch (e.kind) {
        case "header":
          collector.header(e.header);
          break;
        case "metadata":
          collector.metadata(e.meta);
          await writeMetadata(e.meta);
          break;
        case "documents":
          await writeDocuments(await fileFor(e.ns), e.docs);
          break;
        case "eof": {
          collector.eof(e);
          const file = await fileFor(e.ns);
          files.delete(e.ns);
          // The fsync runs while later namespaces are read; the rename waits for all of them.
          const closed = file.tail.then(() => file.fh.sync()).finally(() => file.fh.close());
          closed.catch(() => undefined);
          closing.push(closed);
          break;
        }
      }
    }
    const summary = collector.summary();
    if (files.size > 0) throw new IntegrityError(`archive: ended without EOF for ${[...files.keys()].join(", ")}`);
    await Promise.all(closing);
    for (const d of [...dirs].reverse()) await fsyncPath(d);
    // The last moment an interrupt can still mean "nothing was published".
    opts.signal?.throwIfAborted();
    // rename(2) replaces an empty directory atomically; a non-empty one was refused above.
    await rename(tmp, target);
    await fsyncPath(parent);
    ok = true;
    return summary;
  } catch (err) {
    throw describeLocalIO(err, `write dump directory ${dir}`);
  } finally {
    // Queued writes finish (or fail) before their file is closed and the folder removed.
    await Promise.allSettled([...closing, ...[...files.values()].map((f) => f.tail.finally(() => f.fh.close()))]);
    if (!ok) await rm(tmp, { recursive: true, force: true });
  }
}

/** Options of readDumpDirectory. */
export interface ReadDumpDirectoryOptions {
  /** `server_version` to put in the archive header (a directory does not record it). Default "". */
  serverVersion?: string;
  /** `tool_version` for the archive header. Default "cloudsync". */
  toolVersion?: string;
}

/**
 * Splits a stream of concatenated BSON documents (a `.bson` file) into one buffer per document.
 * Throws IntegrityError naming `what` and the offset on a bad length, a missing trailing NUL or
 * a truncated last document.
 */
export async function* splitBsonStream(input: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of input) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    while (buf.length - i >= 4) {
      const len = buf.readInt32LE(i);
      if (len < MIN_BSON_SIZE || len > MAX_DOCUMENT_SIZE) {
        throw new IntegrityError(`${what}: invalid BSON length ${len} at offset ${offset + i}`);
      }
      if (buf.length - i < len) break;
      if (buf[i + len - 1] !== 0) throw new IntegrityError(`${what}: document at offset ${offset + i} does not end with a NUL byte`);
      yield buf.subarray(i, i + len);
      i += len;
    }
    offset += i;
    carry = Buffer.from(buf.subarray(i));
  }
  if (carry.length > 0) throw new IntegrityError(`${what}: truncated document at offset ${offset}`);
}

/** The `type` a mongodump metadata.json declares, if it parses and has one. */
function metadataType(metadata: string): string | undefined {
  try {
    const parsed = JSON.parse(metadata) as { type?: unknown };
    return typeof parsed.type === "string" ? parsed.type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Describes an existing mongodump directory as an ArchiveSource for writeArchive, laid out as
 * mongodump's own archives are: one namespace per `<db>/<coll>.bson` (plus a top-level
 * `oplog.bson` as ".oplog"), metadata from the matching `.metadata.json` ("" when absent),
 * `size` from the file size. A `.metadata.json` without a `.bson` is a view, written as an
 * empty namespace (mongorestore creates views from that), or, when its metadata says
 * `"type":"timeseries"`, a prelude-only entry whose data is `system.buckets.<name>.bson`.
 * Entries are sorted by database, then file name; documents are streamed from disk only while
 * the archive is written. Compressed dumps (`.bson.gz`) are not read.
 *
 * Errors: the Node error (ENOENT) if `dir` does not exist; IntegrityError while the archive is
 * written if a `.bson` file holds a malformed or truncated document.
 */
export async function readDumpDirectory(dir: string, options: ReadDumpDirectoryOptions = {}): Promise<ArchiveSource> {
  const namespaces: ArchiveSourceNamespace[] = [];
  const prelude: NamespaceMetadata[] = [];
  const readMetadata = async (file: string): Promise<string | undefined> => {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  };
  const addData = async (db: string, folder: string, base: string, metadata: string): Promise<void> => {
    const bsonPath = path.join(folder, `${base}.bson`);
    const meta: NamespaceMetadata = { db, collection: unescapeCollectionName(base), metadata, size: (await stat(bsonPath)).size };
    namespaces.push({ meta, documents: splitBsonStream(lazyRead(bsonPath), bsonPath) });
    prelude.push(meta);
  };

  const top = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (top.some((e) => e.isFile() && e.name === "oplog.bson")) await addData("", dir, "oplog", "");
  for (const entry of top) {
    if (!entry.isDirectory()) continue;
    const db = entry.name;
    const folder = path.join(dir, db);
    const files = await readdir(folder);
    const bson = new Set(files.filter((f) => f.endsWith(".bson")).map((f) => f.slice(0, -".bson".length)));
    const metas = files.filter((f) => f.endsWith(".metadata.json")).map((f) => f.slice(0, -".metadata.json".length));
    const timeseries = new Set<string>();
    for (const base of [...new Set([...bson, ...metas])].sort()) {
      const metadata = (await readMetadata(path.join(folder, `${base}.metadata.json`))) ?? "";
      if (bson.has(base)) {
        await addData(db, folder, base, metadata);
        continue;
      }
      const collection = unescapeCollectionName(base);
      if (metadataType(metadata) === "timeseries") {
        prelude.push({ db, collection, metadata, size: 0, type: "timeseries" });
        timeseries.add(`system.buckets.${collection}`);
      } else {
        const meta: NamespaceMetadata = { db, collection, metadata, size: 0 };
        namespaces.push({ meta, documents: [] });
        prelude.push(meta);
      }
    }
    // A timeseries collection's buckets travel under its prelude entry, not under their own.
    for (let i = prelude.length - 1; i >= 0; i--) {
      if (prelude[i]!.db === db && timeseries.has(prelude[i]!.collection)) prelude.splice(i, 1);
    }
  }
  return {
    header: { version: FORMAT_VERSION, serverVersion: options.serverVersion ?? "", toolVersion: options.toolVersion ?? "cloudsync" },
    namespaces,
    prelude,
  };
}

/** Opens the file only when the first chunk is wanted, so a large dump does not hold every file open. */
async function* lazyRead(file: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
}
