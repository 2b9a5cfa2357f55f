import { createHash } from "node:crypto";
import { once } from "node:events";
import { PassThrough, type Readable, type Writable } from "node:stream";
import type { Bucket, StorageOptions } from "@google-cloud/storage";
import { AuthError, ConfigError, IntegrityError, NotFoundError, RemoteError } from "../errors.js";
import { redactText } from "../secret.js";
import { bodyChunks } from "./body.js";
import type { Destination, ObjectInfo, PutOptions, PutResult } from "./destination.js";
import { validateKey, validatePrefix } from "./keys.js";
import { MiB } from "./part-size.js";
import { DEFAULT_RETRY } from "./retry.js";
import { checkTransferOptions, normalizePrefix } from "./s3.js";

/** Settings of a Google Cloud Storage destination (the JSON API). */
export interface GcsDestinationOptions {
  /** Bucket name; must exist. */
  bucket: string;
  /** Object name prefix inside the bucket ("backups" and "backups/" are the same); default none. */
  prefix?: string;
  /** A service-account key file (JSON); when absent, Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the metadata server). */
  keyFile?: string;
  /** JSON API endpoint for emulators, e.g. "http://127.0.0.1:4443"; requests to it carry no credentials. Default Google's. */
  endpoint?: string;
  /** Bytes per resumable-upload request, a multiple of 256 KiB; default 8 MiB. Memory ≈ one chunk. */
  chunkSize?: number;
  /** Tries per request, including the first; default 6. */
  maxAttempts?: number;
  /** A request that has not finished in this long fails and is retried; default 60,000 ms. */
  requestTimeoutMs?: number;
}

const CHUNK_UNIT = 256 * 1024;

/**
 * A Destination in a Google Cloud Storage bucket: key "a/b" is the object `<prefix>/a/b`.
 *
 * The SDK is loaded and the client created on first use. Uploads are resumable sessions sent
 * `chunkSize` bytes per request: a chunk that fails is sent again from the offset the service
 * confirmed, and the object exists only once the last chunk is in, so an aborted, failed or
 * killed upload leaves nothing listed (the session expires after a week). The SDK's own retries
 * are the retry layer here, because only it can resume a session; they follow the same policy
 * as S3's where the SDK allows (6 tries, back-off doubling up to 20 s; the SDK starts at 1 s; 5xx, 429 and connection resets),
 * and every write is retried, since rewriting the same key with the same bytes is idempotent.
 * The service's MD5 is checked against ours after each upload (the SDK deletes an object whose
 * hash differs and fails) and after each download; the end-to-end check is the SHA-256 that
 * `put` returns.
 *
 * Errors: missing object or bucket → NotFoundError; HTTP 401/403 → AuthError; anything else
 * after retries → RemoteError with operation "gcs <verb> <name>". Invalid options → ConfigError.
 */
export function createGcsDestination(opts: GcsDestinationOptions): Destination {
  const options = checkOptions(opts);
  const prefix = normalizePrefix(options.prefix);
  const url = `gs://${options.bucket}/${prefix}`;
  let client: Promise<Bucket> | undefined;
  const bucket = () => (client ??= makeClient(options));
  const fullKey = (key: string) => prefix + validateKey(key);
  const timeout = options.requestTimeoutMs ?? 60_000;

  async function put(key: string, body: Readable | AsyncIterable<Uint8Array>, putOptions: PutOptions = {}): Promise<PutResult> {
    const name = fullKey(key);
    const operation = `gcs put ${name}`;
    putOptions.signal?.throwIfAborted();
    const file = (await bucket()).file(name);
    const sha256 = createHash("sha256");
    let size = 0;
    const out: Writable = file.createWriteStream({
      resumable: true,
      chunkSize: options.chunkSize ?? 8 * MiB,
      validation: "md5",
      timeout,
      metadata: { contentType: putOptions.contentType ?? "application/octet-stream" },
    });
    const finished = new Promise<void>((resolve, reject) => {
      out.once("finish", resolve);
      out.once("error", reject);
    });
    finished.catch(() => undefined);
    try {
      for await (const chunk of bodyChunks(body, putOptions.signal)) {
        sha256.update(chunk);
        size += chunk.length;
        if (!out.write(chunk)) await Promise.race([once(out, "drain"), finished]);
      }
      out.end();
      await finished;
    } catch (err) {
      out.destroy(err as Error);
      if (putOptions.signal?.aborted && err === putOptions.signal.reason) throw err;
      throw mapGcsError(err, operation);
    }
    return { key, size, sha256: sha256.digest("hex") };
  }

  async function get(key: string): Promise<Readable> {
    const name = fullKey(key);
    const operation = `gcs get ${name}`;
    const file = (await bucket()).file(name);
    // The read stream reports a missing object only once read; ask first so get throws NotFoundError.
    await file.getMetadata().catch((err: unknown) => {
      throw mapGcsError(err, operation);
    });
    const source = file.createReadStream({ validation: "md5" });
    const result = new PassThrough();
    source.on("error", (err) => result.destroy(mapGcsError(err, operation)));
    result.on("close", () => source.destroy());
    source.pipe(result);
    return result;
  }

  async function head(key: string): Promise<ObjectInfo> {
    const name = fullKey(key);
    const [meta] = await (await bucket())
      .file(name)
      .getMetadata()
      .catch((err: unknown) => {
        throw mapGcsError(err, `gcs head ${name}`);
      });
    return { key, size: Number(meta.size ?? 0), lastModified: new Date(meta.updated ?? 0) };
  }

  async function* list(listPrefix: string): AsyncIterable<ObjectInfo> {
    const full = prefix + validatePrefix(listPrefix);
    const operation = `gcs list ${full || "/"}`;
    const b = await bucket();
    let pageToken: string | undefined;
    do {
      const [files, next] = await b.getFiles({ prefix: full, autoPaginate: false, maxResults: 1000, pageToken }).catch((err: unknown) => {
        throw mapGcsError(err, operation);
      });
      for (const f of files) {
        if (!f.name.startsWith(prefix)) continue;
        yield { key: f.name.slice(prefix.length), size: Number(f.metadata.size ?? 0), lastModified: new Date(f.metadata.updated ?? 0) };
      }
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
  }

  async function del(key: string): Promise<void> {
    const name = fullKey(key);
    await (await bucket())
      .file(name)
      .delete({ ignoreNotFound: true })
      .catch((err: unknown) => {
        throw mapGcsError(err, `gcs delete ${name}`);
      });
  }

  return { url, put, get, head, list, delete: del } satisfies Destination;

  async function makeClient(o: GcsDestinationOptions): Promise<Bucket> {
    const sdk = await import("@google-cloud/storage");
    const config: StorageOptions = {
      ...(o.keyFile ? { keyFilename: o.keyFile } : {}),
      // An emulator needs no project; the SDK wants one to be named.
      ...(o.endpoint ? { apiEndpoint: o.endpoint, projectId: "cloudsync-emulator" } : {}),
      timeout,
      retryOptions: {
        autoRetry: true,
        maxRetries: (o.maxAttempts ?? DEFAULT_RETRY.maxAttempts) - 1,
        retryDelayMultiplier: 2,
        maxRetryDelay: DEFAULT_RETRY.maxDelayMs / 1000,
        totalTimeout: 600,
        idempotencyStrategy: sdk.IdempotencyStrategy.RetryAlways,
      },
    };
    return new sdk.Storage(config).bucket(o.bucket);
  }
}

/**
 * Turns a GCS failure into one of cloudsync's typed errors for `operation`: HTTP 404 → NotFoundError
 * (naming the bucket when it is the bucket that is missing), 401/403 → AuthError, a hash mismatch
 * → IntegrityError, anything else → RemoteError. Messages are redacted.
 */
export function mapGcsError(err: unknown, operation: string): Error {
  if (err instanceof IntegrityError || err instanceof NotFoundError || err instanceof AuthError || err instanceof RemoteError || err instanceof ConfigError) return err;
  const e = err as { code?: number | string; message?: string } | undefined;
  const message = redactText((e?.message ?? String(err)).split("\n")[0] ?? "", []);
  const status = typeof e?.code === "number" ? e.code : undefined;
  if (status === 404) {
    if (/bucket/i.test(message)) return new NotFoundError(`${operation}: the bucket does not exist; create it or check the bucket name`, { cause: err });
    return new NotFoundError(`${operation}: no such object`, { cause: err });
  }
  if (status === 401 || status === 403) {
    return new AuthError(
      `${operation}: access denied (HTTP ${status}); check the service-account key and its roles on the bucket. Under a retention policy or a hold, deleting or overwriting an object is refused by design.`,
      { cause: err },
    );
  }
  if (e?.code === "CONTENT_DOWNLOAD_MISMATCH" || e?.code === "FILE_NO_UPLOAD" || /checksum|mismatch/i.test(message)) {
    return new IntegrityError(`${operation}: the service's MD5 of the object differs from the bytes (${message})`, { cause: err });
  }
  return new RemoteError(operation, [status ? `HTTP ${status}` : e?.code, message].filter(Boolean).join(": ") || "unknown error", { cause: err });
}

function checkOptions(opts: GcsDestinationOptions): GcsDestinationOptions {
  // GCS bucket names: 3–63 characters of a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit.
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(opts.bucket ?? "")) {
    throw new ConfigError("bucket", `${JSON.stringify(opts.bucket ?? "")} is not a valid bucket name (3–63 characters: a-z, 0-9, '-', '_', '.')`);
  }
  if (opts.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(opts.endpoint)) {
    throw new ConfigError("endpoint", `${JSON.stringify(opts.endpoint)} is not an http(s) URL, e.g. http://127.0.0.1:4443`);
  }
  if (opts.chunkSize !== undefined && !(Number.isInteger(opts.chunkSize) && opts.chunkSize >= CHUNK_UNIT && opts.chunkSize % CHUNK_UNIT === 0)) {
    throw new ConfigError("chunkSize", `must be a positive multiple of ${CHUNK_UNIT} (256 KiB) bytes`);
  }
  checkTransferOptions(opts);
  return opts;
}
