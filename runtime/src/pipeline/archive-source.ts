import { open as openFile, stat, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { detectCompression, type BlockSource } from "../compression/index.js";
import { ConfigError, UsageError } from "../errors.js";
import { decompressDetected } from "./decode.js";

/**
 * An uncompressed archive in a regular file, read by whoever drives the backup: the compression
 * stage reads it straight into its blocks (`ParallelCompressor.fill`), or `fileChunks` makes a
 * stream of it. `close` releases the file and may be called more than once.
 */
export interface ArchiveFile extends BlockSource {
  close(): Promise<void>;
}

/** A mongodump archive to back up, opened by {@link openArchiveSource}. */
export interface ArchiveSource {
  /**
   * The plain archive bytes: a compressed archive (`mongodump --archive --gzip`, or zstd) comes out
   * decompressed, as a stream; an uncompressed regular file is handed over as the file itself.
   */
  readonly source: Readable | ArchiveFile;
  /** Bytes of the file as stored, when known (a regular file): for progress, compressed or not. */
  readonly storedBytes?: number;
  /** Whether the bytes were compressed on the way in (then `storedBytes` is not the archive's size). */
  readonly compressed: boolean;
  readonly info: { readonly kind: "stdin" | "archive-file"; readonly description: string };
}

/**
 * Bytes per read when a file is read as a stream: Node's default 64 KiB. Measured on the 256 MiB
 * CLI backup, 1 MiB reads raised peak RSS by 20–25 MiB (each stage holds a chunk or two, and V8
 * promotes the long-lived ones to its old generation, freed only by a full collection) for no gain
 * in speed; reads straight into the compressor's blocks avoid both.
 */
const STREAM_CHUNK = 64 * 1024;

/** A stream of `file`'s bytes from where it stands, in fresh chunks of up to 64 KiB; closes the file at the end or when destroyed. */
export function fileChunks(file: ArchiveFile): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = Buffer.allocUnsafe(STREAM_CHUNK);
        const n = await file.readBlock(chunk, 0, STREAM_CHUNK);
        if (n === 0) return;
        yield n === STREAM_CHUNK ? chunk : chunk.subarray(0, n);
      }
    } finally {
      await file.close();
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Whether `source` is an ArchiveFile rather than a stream. */
export function isArchiveFile(source: unknown): source is ArchiveFile {
  return typeof (source as Partial<ArchiveFile> | undefined)?.readBlock === "function";
}

function archiveFile(handle: FileHandle, positional: boolean): ArchiveFile {
  let position = 0;
  let closed: Promise<void> | undefined;
  return {
    async readBlock(buffer, offset, length) {
      const { bytesRead } = await handle.read(buffer, offset, length, positional ? position : null);
      position += bytesRead;
      return bytesRead;
    },
    close: () => (closed ??= handle.close()),
  };
}

export async function openArchiveSource(pathOrDash: string, key = "archive"): Promise<ArchiveSource> {
  if (pathOrDash === "-") {
    if (process.stdin.isTTY) throw new UsageError("the archive is read from stdin, but stdin is a terminal; pipe mongodump --archive into it");
    return open(process.stdin, undefined, { kind: "stdin", description: "mongodump archive on stdin" });
  }
  let size: number | undefined;
  let handle: FileHandle;
  try {
    const s = await stat(pathOrDash);
    if (!s.isFile() && !s.isFIFO()) throw new ConfigError(key, `${pathOrDash} is not a file or a named pipe`);
    if (s.isFile()) size = s.size;
    handle = await openFile(pathOrDash, "r");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(key, `cannot read ${pathOrDash}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const info = { kind: "archive-file", description: pathOrDash } as const;
  // A named pipe is read as it comes; a regular file by position, so its first bytes can be
  // looked at first and, when they are no compression's magic, the file itself handed over.
  const file = archiveFile(handle, size !== undefined);
  if (size !== undefined) {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, head.length, 0).catch(async (err: unknown) => {
      await file.close();
      throw new ConfigError(key, `cannot read ${pathOrDash}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    });
    if (detectCompression(head.subarray(0, bytesRead)) === "none") return { source: file, storedBytes: size, compressed: false, info };
  }
  return open(fileChunks(file), size, info);
}

async function open(input: AsyncIterable<Uint8Array>, storedBytes: number | undefined, info: ArchiveSource["info"]): Promise<ArchiveSource> {
  const { stream, compression } = await decompressDetected(input);
  return { source: stream, storedBytes, compressed: compression !== "none", info };
}
