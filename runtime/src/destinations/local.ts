import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { ConfigError, describeLocalIO, NotFoundError } from "../errors.js";
import { bodyChunks } from "./body.js";
import type { Destination, ObjectInfo, PutOptions, PutResult, TemporaryFiles } from "./destination.js";
import { compareKeys, TEMP_NAME, validateKey, validatePrefix } from "./keys.js";

/**
 * A destination in a local directory: key "a/b" is the file `<root>/a/b`.
 *
 * `put` writes `.<base>.tmp-<random>` beside the final file, hashing as it writes, then fsyncs the
 * file, renames it over the final name and fsyncs the directory, so after a crash the final name
 * holds either the old or the whole new object. On any failure the temporary file is removed; a
 * kill -9 can leave one behind, which `list` skips and `temporaryFiles` lists (prune removes it).
 * Missing directories are created. Disk-full and permission errors become LocalIOError saying what
 * to do. `root` is resolved against the cwd.
 */
export function createLocalDestination(root: string): Destination {
  const base = path.resolve(root);
  const fileOf = (key: string) => path.join(base, ...validateKey(key).split("/"));
  const keyOf = (file: string) => path.relative(base, file).split(path.sep).join("/");

  async function put(key: string, body: Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const file = fileOf(key);
    const dir = path.dirname(file);
    const temp = path.join(dir, `.${path.basename(file)}.tmp-${randomBytes(6).toString("hex")}`);
    let handle: FileHandle | undefined;
    try {
      await mkdir(dir, { recursive: true });
      handle = await open(temp, "wx", 0o600);
      const hash = createHash("sha256");
      let size = 0;
      const writer = createFileWriter(handle);
      for await (const chunk of bodyChunks(body, options.signal)) {
        hash.update(chunk);
        size += chunk.length;
        await writer.write(chunk);
      }
      await writer.end();
      options.signal?.throwIfAborted();
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, file);
      await syncDir(dir);
      return { key, size, sha256: hash.digest("hex") };
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw describeLocalIO(err, `write ${file}`);
    }
  }

  async function get(key: string): Promise<Readable> {
    const file = fileOf(key);
    // Opening first turns a missing file into NotFoundError here rather than as a stream error later.
    const handle = await openExisting(file, key);
    return handle.createReadStream();
  }

  async function head(key: string): Promise<ObjectInfo> {
    const file = fileOf(key);
    try {
      const st = await stat(file);
      if (!st.isFile()) throw notFound(key);
      return { key, size: st.size, lastModified: st.mtime };
    } catch (err) {
      throw mapMissing(err, key, `stat ${file}`);
    }
  }

  async function* list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    // Only the directory the prefix points into can hold matches: "a/b" → walk "<root>/a".
    const slash = prefix.lastIndexOf("/");
    const start = slash < 0 ? base : path.join(base, ...prefix.slice(0, slash).split("/"));
    const files: string[] = [];
    await walk(start, files);
    const keys = files.map(keyOf).filter((k) => k.startsWith(prefix));
    keys.sort(compareKeys);
    for (const key of keys) {
      try {
        yield await head(key);
      } catch (err) {
        // Deleted between the directory walk and now: it is no longer part of the listing.
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }

  async function del(key: string): Promise<void> {
    await unlinkIfPresent(fileOf(key));
  }

  const temporaryFiles: TemporaryFiles = {
    async *list() {
      const files: string[] = [];
      await walk(base, files, true);
      for (const key of files.map(keyOf).sort(compareKeys)) {
        try {
          const st = await stat(path.join(base, ...key.split("/")));
          yield { key, size: st.size, lastModified: st.mtime };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw describeLocalIO(err, `stat ${path.join(base, key)}`);
        }
      }
    },
    async remove(key) {
      // Only a temporary file's name inside the root is accepted, so this never deletes a stored object.
      const segments = key.split("/");
      const name = segments.pop() ?? "";
      if (!TEMP_NAME.test(name) || key.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
        throw new ConfigError("key", `${JSON.stringify(key)} is not the name of a temporary file`);
      }
      await unlinkIfPresent(path.join(base, ...segments, name));
    },
  };

  return { url: base, put, get, head, list, delete: del, temporaryFiles } satisfies Destination;
}

// Deleting is idempotent: a file already gone is not an error.
async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw describeLocalIO(err, `delete ${file}`);
  }
}

/** Bytes a put gathers into one write: 1 MiB, 16 age chunks or about 3 MiB of gzip -1 input. */
const WRITE_BATCH = 1024 * 1024;

/**
 * Writes chunks to `handle` in order. Chunks that arrive while a write is in flight are gathered
 * and written together by one writev, up to WRITE_BATCH bytes; `write` waits only when that much is
 * waiting, which is the back-pressure: the source is not read faster than the disk takes it. The
 * body's chunks are small (an age chunk is 64 KiB and a 16-byte tag), and one write each cost a
 * thread-pool round trip per chunk on the main thread's critical path. A write error is thrown by
 * the next `write` or by `end`, which waits for everything to be written.
 */
function createFileWriter(handle: FileHandle): { write(chunk: Buffer): Promise<void>; end(): Promise<void> } {
  let batch: Buffer[] = [];
  let batched = 0;
  let writing: Promise<void> | undefined;
  let failed: { error: unknown } | undefined;
  const drain = async (): Promise<void> => {
    try {
      while (batch.length > 0) {
        const chunks = batch;
        batch = [];
        batched = 0;
        await writevAll(handle, chunks);
      }
    } catch (error) {
      failed = { error };
    } finally {
      writing = undefined;
    }
  };
  const check = (): void => {
    if (failed) throw failed.error;
  };
  return {
    async write(chunk) {
      check();
      batch.push(chunk);
      batched += chunk.length;
      writing ??= drain();
      if (batched >= WRITE_BATCH) await writing;
      check();
    },
    async end() {
      await writing;
      check();
    },
  };
}

async function writevAll(handle: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    // A short write (rare on a regular file) leaves the tail of one chunk and the chunks after it.
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}

// The rename is durable only once the directory entry is on disk (rename(2) alone is not).
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function openExisting(file: string, key: string): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, "r");
    if (!(await handle.stat()).isFile()) throw notFound(key);
    return handle;
  } catch (err) {
    await handle?.close().catch(() => undefined);
    throw mapMissing(err, key, `read ${file}`);
  }
}

// Collects regular files below `dir`: stored objects, or with `temporary` only temporary files.
async function walk(dir: string, out: string[], temporary = false): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw describeLocalIO(err, `list ${dir}`);
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out, temporary);
    else if (entry.isFile() && TEMP_NAME.test(entry.name) === temporary) out.push(full);
  }
}

function notFound(key: string): NotFoundError {
  return new NotFoundError(`no object ${JSON.stringify(key)}`);
}

function mapMissing(err: unknown, key: string, what: string): unknown {
  if (err instanceof NotFoundError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return notFound(key);
  return describeLocalIO(err, what);
}
