import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { BlockBlobClient } from "@azure/storage-blob";
import { IntegrityError } from "../errors.js";
import { bodyChunks } from "./body.js";
import { MiB, partSizeAt } from "./part-size.js";
import { partsOf, sendBounded } from "./s3-upload.js";

/**
 * Block sizing. Azure Blob Storage allows 50,000 staged blocks of up to 4,000 MiB per blob, and
 * the blob itself ≈190.7 TiB. The blocks follow S3's part sizes (part-size.ts: 8 MiB by default,
 * or the size hint spread over 9,000 blocks, doubling every 1,000 blocks), capped at 4,000 MiB,
 * which they reach at block 9,000; 50,000 blocks then hold ≈160 TiB without a hint, so the block
 * count never caps a backup. Memory held by an upload is (blocks in flight + 1) × block size.
 */
export const MAX_BLOCK_SIZE = 4000 * MiB;
/** Most blocks in one blob. */
export const MAX_BLOCKS = 50_000;

/** The size of block `index` (0-based) of an upload whose first block is `base` bytes. */
export function blockSizeAt(index: number, base: number): number {
  return Math.min(MAX_BLOCK_SIZE, partSizeAt(index, base));
}

/** The largest blob 50,000 blocks can hold when the first block is `base` bytes. */
export function maxBlobSize(base: number): number {
  let total = 0;
  // Sizes change only every 1,000 blocks.
  for (let i = 0; i < MAX_BLOCKS; i += 1_000) total += 1_000 * blockSizeAt(i, base);
  return total;
}

/** What one request attempt is given: the signal to pass to the SDK, and a callback for bytes that moved. */
export interface AzureAttempt {
  readonly abortSignal: AbortSignal;
  /** Call whenever bytes move, so an idle timeout does not fire on a slow but live transfer. */
  readonly onProgress: () => void;
}

/** Runs one Azure request with the destination's retries, idle timeout and error mapping. */
export type AzureCall = <T>(request: (attempt: AzureAttempt) => Promise<T>, signal: AbortSignal) => Promise<T>;

/** Everything one upload needs from its destination. */
export interface BlockUploadTarget {
  readonly blob: BlockBlobClient;
  /** Full blob name, prefix included, for messages. */
  readonly name: string;
  /** Size of the first block; later blocks grow from it (blockSizeAt). */
  readonly baseBlockSize: number;
  /** Blocks staged at the same time. */
  readonly queueSize: number;
  readonly contentType?: string;
  readonly call: AzureCall;
}

/**
 * Streams `body` to a block blob. A body no longer than one block goes up as a single Put Blob;
 * a longer one as staged blocks (Put Block) with up to `queueSize` in flight (the source is not
 * read while the queue is full), committed by one Put Block List at the end. Every request
 * carries Content-MD5, which the service checks; the committed blob records the MD5 of the
 * whole body, which `get` checks. Staged blocks are not a blob: a failed, aborted or killed
 * upload leaves nothing listed, and the service discards its blocks after a week. Block ids are
 * random per upload, so two uploads of one name never mix blocks.
 * Returns the size and SHA-256 of the bytes read from `body`.
 */
export async function uploadBlockBlob(target: BlockUploadTarget, body: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  const failed = new AbortController();
  const combined = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  const blocks = partsOf(bodyChunks(body, combined), target.baseBlockSize, [sha256, md5], blockSizeAt);
  const first = await blocks.next();
  const second = first.done ? first : await blocks.next();
  const firstData = first.done ? Buffer.alloc(0) : first.value;
  const headers = { blobContentType: target.contentType };

  if (second.done) {
    const checksum = md5Of(firstData);
    const out = await target.call(
      ({ abortSignal, onProgress }) =>
        target.blob.upload(streamOf(firstData), firstData.length, { abortSignal, onProgress, transactionalContentMD5: checksum, blobHTTPHeaders: headers }),
      combined,
    );
    if (out.contentMD5 && !Buffer.from(out.contentMD5).equals(checksum)) {
      throw new IntegrityError(`azblob put ${target.name}: the service stored bytes whose MD5 differs from what was sent`);
    }
    return { size: firstData.length, sha256: sha256.digest("hex") };
  }

  const nonce = randomBytes(8).toString("hex");
  const ids: string[] = [];
  const size = await sendBounded(firstData, second, blocks, target.queueSize, failed, async (index, data) => {
    // Ids of one blob must all have the same length: a fixed-width index after the nonce.
    const id = Buffer.from(`${nonce}-${String(index).padStart(6, "0")}`).toString("base64");
    ids[index] = id;
    const checksum = md5Of(data);
    await target.call(({ abortSignal, onProgress }) => target.blob.stageBlock(id, () => streamOf(data), data.length, { abortSignal, onProgress, transactionalContentMD5: checksum }), combined);
  });
  const whole = md5.digest();
  await target.call(({ abortSignal }) => target.blob.commitBlockList(ids, { abortSignal, blobHTTPHeaders: { ...headers, blobContentMD5: whole } }), combined);
  return { size, sha256: sha256.digest("hex") };
}

function md5Of(data: Buffer): Buffer {
  return createHash("md5").update(data).digest();
}

// The body of one request attempt, in 64 KiB pieces so the socket's back-pressure paces it and
// progress (which keeps the idle timeout from firing) is reported as the bytes go out.
function streamOf(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
    })(),
    { objectMode: false },
  );
}
