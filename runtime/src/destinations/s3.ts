import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { PassThrough, type Readable } from "node:stream";
import { ConfigError } from "../errors.js";
import type { Secret } from "../secret.js";
import type { Destination, ObjectInfo, PutOptions, PutResult } from "./destination.js";
import { validateKey, validatePrefix } from "./keys.js";
import { basePartSize, DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE } from "./part-size.js";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "./retry.js";
import { isRetryableS3Error, mapS3Error } from "./s3-errors.js";
import { uploadObject, type S3Call } from "./s3-upload.js";

/** Settings of an S3-compatible destination (AWS S3, Backblaze B2, Ceph RGW, MinIO). */
export interface S3DestinationOptions {
  /** Bucket name; must exist. */
  bucket: string;
  /** Key prefix inside the bucket ("backups" and "backups/" are the same); default none. */
  prefix?: string;
  /** Endpoint URL for non-AWS stores, e.g. "https://s3.us-west-004.backblazeb2.com"; default AWS. */
  endpoint?: string;
  /** Region; default "us-east-1" (B2 and Ceph accept any region matching their endpoint). */
  region?: string;
  /** Access key id; when absent the SDK's default credential chain (environment, profile, instance role) is used. */
  accessKeyId?: string;
  secretAccessKey?: Secret;
  sessionToken?: Secret;
  /** Path-style URLs (`endpoint/bucket/key`); default true when `endpoint` is set, as Ceph and MinIO need it. */
  forcePathStyle?: boolean;
  /** First multipart part size in bytes, 5 MiB–5 GiB; default 8 MiB. Parts grow, see part-size.ts. */
  partSize?: number;
  /** Parts uploaded concurrently; default 4. Memory ≈ (queueSize + 1) × part size. */
  queueSize?: number;
  /** Tries per request, including the first; default 6. */
  maxAttempts?: number;
  /** A request with no bytes moving for this long fails and is retried; default 60,000 ms. */
  requestTimeoutMs?: number;
  /** First retry back-off ceiling; default 200 ms (tests lower it). */
  retryBaseDelayMs?: number;
}

/**
 * A Destination in an S3-compatible bucket: key "a/b" is the object `<prefix>/a/b`.
 *
 * The client is created on first use, and the AWS SDK is imported then too: opening a destination
 * (every command does, to validate its settings) costs none of the SDK's start-up. Every request is retried with jittered exponential back-off
 * on 5xx, throttling, timeouts and connection resets (our one retry layer; the SDK's own is
 * off). Request checksums are sent only when an operation requires them, because B2 rejects
 * the SDK's default CRC32 headers; instead each PutObject/UploadPart carries Content-MD5 and the
 * end-to-end check is the SHA-256 that `put` returns. Uploads are described in s3-upload.ts.
 *
 * Errors: missing object or bucket → NotFoundError; HTTP 403 → AuthError; anything else after
 * retries → RemoteError with operation "s3 <verb> <key>". Invalid options → ConfigError at
 * creation. Credentials never appear in `url` or in any message.
 */
export function createS3Destination(opts: S3DestinationOptions): Destination {
  const options = checkOptions(opts);
  const prefix = normalizePrefix(options.prefix);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts, baseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs };
  const secrets = [options.secretAccessKey, options.sessionToken];
  const url = `s3://${options.bucket}/${prefix}`;
  let client: Promise<Connection> | undefined;
  const s3 = (): Promise<Connection> => (client ??= connect(options));
  const fullKey = (key: string) => prefix + validateKey(key);

  /** One request with retries; errors mapped for `operation`, except an abort, which is rethrown as is. */
  const callFor =
    (operation: string, retry: RetryPolicy = policy): S3Call =>
    async (request, signal) => {
      try {
        return await withRetry(() => request(signal), { policy: retry, isRetryable: isRetryableS3Error, signal });
      } catch (err) {
        if (signal.aborted && err === signal.reason) throw err;
        throw mapS3Error(err, operation, secrets);
      }
    };
  const never = new AbortController().signal;

  async function put(key: string, body: Readable | AsyncIterable<Uint8Array>, putOptions: PutOptions = {}): Promise<PutResult> {
    const objectKey = fullKey(key);
    const base = basePartSize(options.partSize ?? DEFAULT_PART_SIZE, putOptions.sizeHint);
    const { client } = await s3();
    const { size, sha256 } = await uploadObject(
      {
        client,
        bucket: options.bucket,
        key: objectKey,
        basePartSize: base,
        queueSize: options.queueSize ?? 4,
        contentType: putOptions.contentType,
        call: callFor(`s3 put ${objectKey}`),
        // Cleanup is tried a few times only: the upload has already failed and the caller is waiting.
        abortCall: callFor(`s3 abort upload ${objectKey}`, { ...policy, maxAttempts: Math.min(policy.maxAttempts, 3) }),
      },
      body,
      putOptions.signal,
    );
    return { key, size, sha256 };
  }

  async function get(key: string): Promise<Readable> {
    const objectKey = fullKey(key);
    const operation = `s3 get ${objectKey}`;
    const { client, sdk } = await s3();
    const out = await callFor(operation)((abortSignal) => client.send(new sdk.GetObjectCommand({ Bucket: options.bucket, Key: objectKey }), { abortSignal }), never);
    const source = out.Body as Readable | undefined;
    if (!source) throw mapS3Error(new Error("the server returned no body"), operation, secrets);
    // Only the request is retried; a failure mid-body reaches the reader as a mapped stream error.
    const result = new PassThrough();
    source.on("error", (err) => result.destroy(mapS3Error(err, operation, secrets)));
    result.on("close", () => source.destroy());
    source.pipe(result);
    return result;
  }

  async function head(key: string): Promise<ObjectInfo> {
    const objectKey = fullKey(key);
    const { client, sdk } = await s3();
    const out = await callFor(`s3 head ${objectKey}`)((abortSignal) => client.send(new sdk.HeadObjectCommand({ Bucket: options.bucket, Key: objectKey }), { abortSignal }), never);
    return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
  }

  async function* list(listPrefix: string): AsyncIterable<ObjectInfo> {
    const full = prefix + validatePrefix(listPrefix);
    const call = callFor(`s3 list ${full || "/"}`);
    const { client, sdk } = await s3();
    let token: string | undefined;
    do {
      const page = await call(
        (abortSignal) => client.send(new sdk.ListObjectsV2Command({ Bucket: options.bucket, Prefix: full, ContinuationToken: token }), { abortSignal }),
        never,
      );
      for (const item of page.Contents ?? []) {
        if (!item.Key?.startsWith(prefix)) continue;
        yield { key: item.Key.slice(prefix.length), size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async function del(key: string): Promise<void> {
    const objectKey = fullKey(key);
    const { client, sdk } = await s3();
    await callFor(`s3 delete ${objectKey}`)((abortSignal) => client.send(new sdk.DeleteObjectCommand({ Bucket: options.bucket, Key: objectKey }), { abortSignal }), never);
  }

  return { url, put, get, head, list, delete: del } satisfies Destination;
}

/** A client and the SDK module its commands come from. */
interface Connection {
  readonly client: S3Client;
  readonly sdk: typeof import("@aws-sdk/client-s3");
}

async function connect(options: S3DestinationOptions): Promise<Connection> {
  const [sdk, { NodeHttpHandler }] = await Promise.all([import("@aws-sdk/client-s3"), import("@smithy/node-http-handler")]);
  const config: S3ClientConfig = {
    region: options.region ?? "us-east-1",
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Our own retry layer wraps every call (retry.ts); two layers would multiply the attempts.
    maxAttempts: 1,
    // B2 rejects the x-amz-checksum-crc32 headers the SDK adds by default since 2025.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(options.requestTimeoutMs ?? 10_000, 10_000),
      // An idle-socket timeout, not a total one: a large part on a slow link may take minutes.
      socketTimeout: options.requestTimeoutMs ?? 60_000,
    }),
  };
  if (options.accessKeyId) {
    config.credentials = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey?.reveal() ?? "",
      sessionToken: options.sessionToken?.reveal(),
    };
  }
  return { client: new sdk.S3Client(config), sdk };
}

function checkOptions(opts: S3DestinationOptions): S3DestinationOptions {
  // Bucket naming rules shared by S3, B2 and Ceph: 3–63 lower-case letters, digits, '.' and '-'.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket ?? "")) {
    throw new ConfigError("bucket", `${JSON.stringify(opts.bucket ?? "")} is not a valid bucket name (3–63 characters: a-z, 0-9, '.', '-')`);
  }
  if (opts.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(opts.endpoint)) {
    throw new ConfigError("endpoint", `${JSON.stringify(opts.endpoint)} is not an http(s) URL, e.g. https://s3.us-west-004.backblazeb2.com`);
  }
  if (opts.accessKeyId && !opts.secretAccessKey) throw new ConfigError("secretAccessKey", "an access key id is set but no secret access key");
  if (opts.partSize !== undefined && (!Number.isInteger(opts.partSize) || opts.partSize < MIN_PART_SIZE || opts.partSize > MAX_PART_SIZE)) {
    throw new ConfigError("partSize", `must be an integer between ${MIN_PART_SIZE} (5 MiB) and ${MAX_PART_SIZE} (5 GiB) bytes`);
  }
  checkTransferOptions(opts);
  return opts;
}

/** The retry, timeout and concurrency settings every remote destination shares; ConfigError naming the field. */
export function checkTransferOptions(opts: Pick<S3DestinationOptions, "queueSize" | "maxAttempts" | "requestTimeoutMs" | "retryBaseDelayMs">): void {
  positive(opts.queueSize, "queueSize", 64);
  positive(opts.maxAttempts, "maxAttempts", 100);
  positive(opts.requestTimeoutMs, "requestTimeoutMs", 24 * 3600 * 1000);
  if (opts.retryBaseDelayMs !== undefined && !(Number.isInteger(opts.retryBaseDelayMs) && opts.retryBaseDelayMs >= 0)) {
    throw new ConfigError("retryBaseDelayMs", "must be a non-negative integer");
  }
}

function positive(value: number | undefined, field: string, max: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
    throw new ConfigError(field, `must be an integer between 1 and ${max}`);
  }
}

/** "backups", "/backups/" → "backups/"; "" or undefined → "". ConfigError("prefix") for a prefix that is not a valid key. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  try {
    validateKey(trimmed);
  } catch {
    throw new ConfigError("prefix", `${JSON.stringify(prefix)} is not a valid key prefix (no empty, '.' or '..' segments)`);
  }
  return `${trimmed}/`;
}
