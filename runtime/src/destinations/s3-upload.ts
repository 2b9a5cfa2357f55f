import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import type { CompletedPart, S3Client } from "@aws-sdk/client-s3";
import { RemoteError } from "../errors.js";
import { bodyChunks } from "./body.js";
import { partSizeAt } from "./part-size.js";

/** Runs one S3 request with the destination's retries and error mapping; `request` gets the signal to pass to `client.send`. */
export type S3Call = <T>(request: (abortSignal: AbortSignal) => Promise<T>, signal: AbortSignal) => Promise<T>;

/** Everything one upload needs from its destination. */
export interface UploadTarget {
  readonly client: S3Client;
  readonly bucket: string;
  /** Full object key, prefix included. */
  readonly key: string;
  /** Size of the first part (see part-size.ts); later parts grow from it. */
  readonly basePartSize: number;
  /** Parts uploaded at the same time. */
  readonly queueSize: number;
  readonly contentType?: string;
  /** Retrying, error-mapping wrapper around every request of this upload. */
  readonly call: S3Call;
  /** Best-effort cleanup of an abandoned multipart upload (errors are swallowed by the caller). */
  readonly abortCall: S3Call;
}

/**
 * Streams `body` to S3. A body shorter than one part goes up as a single PutObject; a longer one
 * as a multipart upload with up to `queueSize` parts in flight (the source is not read while the
 * queue is full, so memory stays at (queueSize + 1) × part size). Every request carries
 * Content-MD5 so the server checks each part's bytes. On any failure or abort the multipart
 * upload is aborted, so nothing appears under the key, and the first error is rethrown.
 * Returns the size and SHA-256 of the bytes read from `body`.
 */
export async function uploadObject(target: UploadTarget, body: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  // The SDK is imported where it is used (see s3.ts): loaded already by the client that `target` holds.
  const { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand } = await import("@aws-sdk/client-s3");
  // Aborted by the caller, or by us when one part fails, so the others and the reader stop too.
  const failed = new AbortController();
  const combined = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  const hash = createHash("sha256");
  const parts = partsOf(bodyChunks(body, combined), target.basePartSize, hash);
  const first = await parts.next();
  const second = first.done ? first : await parts.next();
  const firstData = first.done ? Buffer.alloc(0) : first.value;

  if (second.done) {
    await target.call(
      (abortSignal) =>
        target.client.send(
          new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: firstData, ContentLength: firstData.length, ContentMD5: md5(firstData), ContentType: target.contentType }),
          { abortSignal },
        ),
      combined,
    );
    return { size: firstData.length, sha256: hash.digest("hex") };
  }

  const created = await target.call(
    (abortSignal) => target.client.send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ContentType: target.contentType }), { abortSignal }),
    combined,
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new RemoteError(`s3 put ${target.key}`, "the server returned no upload id");

  const done: CompletedPart[] = [];
  try {
    const size = await sendBounded(firstData, second, parts, target.queueSize, failed, async (index, data) => {
      const etag = await uploadPart(target, uploadId, index + 1, data, combined);
      done.push({ PartNumber: index + 1, ETag: etag });
    });
    done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await target.call(
      (abortSignal) =>
        target.client.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: done } }), { abortSignal }),
      combined,
    );
    return { size, sha256: hash.digest("hex") };
  } catch (err) {
    if (!failed.signal.aborted) failed.abort(err);
    // A fresh signal: the upload's own signal is aborted by now, and the cleanup must still run.
    await target
      .abortCall(
        (abortSignal) => target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }), { abortSignal }),
        new AbortController().signal,
      )
      .catch(() => undefined);
    throw err;
  }
}

/**
 * Sends `first` and then each part of `rest` (`second` being its first) through
 * `send(index, data)`, index 0-based, with at most `queueSize` sends in flight: the source is
 * not read while the queue is full, so memory stays at (queueSize + 1) parts. The first failure
 * aborts `failed` (so the other sends and the reader stop), the others are let settle, and that
 * failure is thrown. Returns the bytes sent.
 */
export async function sendBounded(
  first: Buffer,
  second: IteratorResult<Buffer>,
  rest: AsyncIterator<Buffer>,
  queueSize: number,
  failed: AbortController,
  send: (index: number, data: Buffer) => Promise<void>,
): Promise<number> {
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let size = 0;
  const start = (index: number, data: Buffer) => {
    size += data.length;
    const task = send(index, data)
      .catch((error: unknown) => {
        failure ??= { error };
        failed.abort(error);
      })
      .finally(() => inflight.delete(task));
    inflight.add(task);
  };
  try {
    start(0, first);
    let index = 1;
    for (let next = second; !next.done; next = await rest.next()) {
      start(index++, next.value);
      while (inflight.size >= queueSize && !failure) await Promise.race(inflight);
      if (failure) break;
    }
    await Promise.all(inflight);
  } catch (err) {
    if (!failed.signal.aborted) failed.abort(err);
    await Promise.allSettled(inflight);
    throw failure ? failure.error : err;
  }
  if (failure) throw failure.error;
  return size;
}

async function uploadPart(target: UploadTarget, uploadId: string, partNumber: number, data: Buffer, signal: AbortSignal): Promise<string> {
  const { UploadPartCommand } = await import("@aws-sdk/client-s3");
  const checksum = md5(data);
  const out = await target.call(
    (abortSignal) =>
      target.client.send(
        new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: data.length, ContentMD5: checksum }),
        { abortSignal },
      ),
    signal,
  );
  if (!out.ETag) throw new RemoteError(`s3 put ${target.key}`, `the server returned no ETag for part ${partNumber}`);
  return out.ETag;
}

/**
 * Cuts a stream of chunks into parts of `sizeAt(i, base)` bytes (S3's `partSizeAt` unless given;
 * the last part shorter), feeding every byte to each of `hashes` in order. Yields nothing for an
 * empty stream.
 */
export async function* partsOf(
  chunks: AsyncIterable<Buffer>,
  base: number,
  hashes: Hash | readonly Hash[] = [],
  sizeAt: (index: number, base: number) => number = partSizeAt,
): AsyncGenerator<Buffer> {
  const all = Array.isArray(hashes) ? hashes : [hashes as Hash];
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    for (const hash of all) hash.update(chunk);
    pending.push(chunk);
    pendingBytes += chunk.length;
    let want = sizeAt(index, base);
    while (pendingBytes >= want) {
      const joined = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      yield joined.subarray(0, want);
      const rest = joined.subarray(want);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
      want = sizeAt(++index, base);
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

function md5(data: Buffer): string {
  return createHash("md5").update(data).digest("base64");
}
