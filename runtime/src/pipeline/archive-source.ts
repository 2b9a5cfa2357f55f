import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ConfigError, UsageError } from "../errors.js";

/** A mongodump archive to back up, opened by {@link openArchiveSource}. */
export interface ArchiveSource {
  /** The plain archive bytes: a gzip-compressed archive (`mongodump --archive --gzip`) comes out decompressed. */
  readonly stream: Readable;
  /** Bytes of the file as stored, when known (a regular file): for progress, compressed or not. */
  readonly storedBytes?: number;
  /** Whether the bytes were gzip on the way in. */
  readonly gzipped: boolean;
  readonly info: { readonly kind: "stdin" | "archive-file"; readonly description: string };
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Opens "an archive file or stdin", the one way every caller (the CLI's `backup --from-archive`, the
 * daemon, the library's `uploadBackup`) reads a mongodump archive: `-` is standard input (refused
 * when it is a terminal), anything else a regular file or a named pipe (`mongodump --archive=<fifo>`).
 * A gzip stream is recognised from its first two bytes and decompressed, so the output of
 * `mongodump --archive --gzip` is accepted as it is; everything else passes through untouched for the
 * archive verifier to judge.
 *
 * Throws `UsageError` for `-` on a terminal and `ConfigError(key)` for a path that cannot be read or
 * is neither a file nor a named pipe; `key` names the setting the path came from.
 */
export async function openArchiveSource(pathOrDash: string, key = "archive"): Promise<ArchiveSource> {
  if (pathOrDash === "-") {
    if (process.stdin.isTTY) throw new UsageError("the archive is read from stdin, but stdin is a terminal; pipe mongodump --archive into it");
    return sniff(process.stdin, undefined, { kind: "stdin", description: "mongodump archive on stdin" });
  }
  let size: number | undefined;
  try {
    const s = await stat(pathOrDash);
    if (!s.isFile() && !s.isFIFO()) throw new ConfigError(key, `${pathOrDash} is not a file or a named pipe`);
    if (s.isFile()) size = s.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(key, `cannot read ${pathOrDash}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return sniff(createReadStream(pathOrDash, { highWaterMark: 1 << 20 }), size, { kind: "archive-file", description: pathOrDash });
}

/** Reads until two bytes are in hand, decides gzip or not, and hands on a stream that starts with them. */
async function sniff(input: NodeJS.ReadableStream, storedBytes: number | undefined, info: ArchiveSource["info"]): Promise<ArchiveSource> {
  const it = (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < GZIP_MAGIC.length) {
    const next = await it.next();
    if (next.done) { ended = true; break; }
    const chunk = Buffer.from(next.value);
    head.push(chunk);
    have += chunk.length;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    if (ended) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  const raw = Readable.from(replay(), { objectMode: false });
  const gzipped = first.length >= 2 && first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  if (!gzipped) return { stream: raw, storedBytes, gzipped, info };
  const gunzip = createGunzip();
  raw.on("error", (err) => gunzip.destroy(err));
  return { stream: raw.pipe(gunzip), storedBytes, gzipped, info };
}
