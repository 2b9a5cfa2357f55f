import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import type { BlobServiceClient, ContainerClient, StoragePipelineOptions } from "@azure/storage-blob";
import { ConfigError, IntegrityError, RemoteError } from "../errors.js";
import type { Secret } from "../secret.js";
import { type AzureAttempt, type AzureCall, MAX_BLOCK_SIZE, uploadBlockBlob } from "./azblob-upload.js";
import { isRetryableAzureError, mapAzureError, RequestIdleError } from "./azblob-errors.js";
import type { Destination, ObjectInfo, PutOptions, PutResult } from "./destination.js";
import { validateKey, validatePrefix } from "./keys.js";
import { basePartSize, DEFAULT_PART_SIZE, MIN_PART_SIZE } from "./part-size.js";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "./retry.js";
import { checkTransferOptions, normalizePrefix } from "./s3.js";

/**
 * Settings of an Azure Blob Storage destination. Exactly one way to authenticate: a connection
 * string (which names the account and endpoint itself), or `account` with an account key or a
 * SAS token.
 */
export interface AzureBlobDestinationOptions {
  /** Container name; must exist. */
  container: string;
  /** Blob name prefix inside the container ("backups" and "backups/" are the same); default none. */
  prefix?: string;
  /** A storage connection string (`DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…` or with `SharedAccessSignature=…`). */
  connectionString?: Secret;
  /** Storage account name, for `accountKey` or `sasToken`. */
  account?: string;
  accountKey?: Secret;
  /** A SAS token (`sv=…&sig=…`, with or without the leading '?') with read, write, list and delete on the container. */
  sasToken?: Secret;
  /** Blob service URL; default `https://<account>.blob.core.windows.net` (Azurite: `http://127.0.0.1:10000/<account>`). */
  endpoint?: string;
  /** First block size in bytes, 5 MiB–4000 MiB; default 8 MiB. Blocks grow, see azblob-upload.ts. */
  blockSize?: number;
  /** Blocks staged concurrently; default 4. Memory ≈ (queueSize + 1) × block size. */
  queueSize?: number;
  /** Tries per request, including the first; default 6. */
  maxAttempts?: number;
  /** A request with no bytes moving for this long fails and is retried; default 60,000 ms. */
  requestTimeoutMs?: number;
  /** First retry back-off ceiling; default 200 ms (tests lower it). */
  retryBaseDelayMs?: number;
}

/**
 * A Destination in an Azure Blob Storage container: key "a/b" is the block blob `<prefix>/a/b`.
 *
 * The SDK is loaded and the client created on first use. Every request is retried with the same
 * jittered back-off as S3 (retry.ts; the SDK's own retries are off) on 5xx, 429, busy and
 * timeout codes, connection resets, a Content-MD5 mismatch, and a request that moved no bytes
 * for `requestTimeoutMs`. Uploads are described in azblob-upload.ts. `get` checks the bytes
 * against the blob's Content-MD5 when the service reports one (IntegrityError on the stream
 * otherwise); the end-to-end check is the SHA-256 that `put` returns.
 *
 * Errors: missing blob or container → NotFoundError; HTTP 403 → AuthError; anything else after
 * retries → RemoteError with operation "azblob <verb> <name>". Invalid options → ConfigError at
 * creation. Credentials never appear in `url` or in any message.
 */
export function createAzureBlobDestination(opts: AzureBlobDestinationOptions): Destination {
  const options = checkOptions(opts);
  const prefix = normalizePrefix(options.prefix);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts, baseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY.baseDelayMs };
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const secrets = [options.connectionString, options.accountKey, options.sasToken];
  const url = `azblob://${options.container}/${prefix}`;
  let client: Promise<ContainerClient> | undefined;
  const container = () => (client ??= makeClient(options));
  const fullKey = (key: string) => prefix + validateKey(key);

  /** One request with retries and an idle timeout per attempt; errors mapped for `operation`, except an abort, which is rethrown as is. */
  const callFor =
    (operation: string): AzureCall =>
    async (request, signal) => {
      try {
        return await withRetry(() => attempt(request, signal, timeoutMs), { policy, isRetryable: isRetryableAzureError, signal });
      } catch (err) {
        if (signal.aborted && err === signal.reason) throw err;
        throw mapAzureError(err, operation, secrets);
      }
    };
  const never = new AbortController().signal;

  async function put(key: string, body: Readable | AsyncIterable<Uint8Array>, putOptions: PutOptions = {}): Promise<PutResult> {
    const name = fullKey(key);
    const base = basePartSize(options.blockSize ?? DEFAULT_PART_SIZE, putOptions.sizeHint);
    const blob = (await container()).getBlockBlobClient(name);
    const { size, sha256 } = await uploadBlockBlob(
      { blob, name, baseBlockSize: base, queueSize: options.queueSize ?? 4, contentType: putOptions.contentType, call: callFor(`azblob put ${name}`) },
      body,
      putOptions.signal,
    );
    return { key, size, sha256 };
  }

  async function get(key: string): Promise<Readable> {
    const name = fullKey(key);
    const operation = `azblob get ${name}`;
    const blob = (await container()).getBlobClient(name);
    // The body outlives the request's idle timer: its own is below, reset by every chunk.
    const body = new AbortController();
    const out = await callFor(operation)(({ abortSignal }) => blob.download(0, undefined, { abortSignal: AbortSignal.any([abortSignal, body.signal]), maxRetryRequests: 0 }), never);
    const source = out.readableStreamBody as Readable | undefined;
    if (!source) throw new RemoteError(operation, "the service returned no body");
    const expected = out.contentMD5 ? Buffer.from(out.contentMD5) : undefined;
    const md5 = createHash("md5");
    const result = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => result.destroy(new RemoteError(operation, `the download stalled: no bytes for ${timeoutMs} ms`)), timeoutMs);
    };
    arm();
    // Only the request is retried; a failure mid-body reaches the reader as a mapped stream error.
    source.on("data", (chunk: Buffer) => {
      arm();
      md5.update(chunk);
      if (!result.write(chunk)) source.pause();
    });
    result.on("drain", () => source.resume());
    source.on("end", () => {
      clearTimeout(timer);
      const actual = md5.digest();
      if (expected && !actual.equals(expected)) {
        result.destroy(new IntegrityError(`${operation}: the bytes read do not match the blob's Content-MD5 (${actual.toString("base64")} instead of ${expected.toString("base64")}); the stored blob is damaged`));
      } else result.end();
    });
    source.on("error", (err) => result.destroy(mapAzureError(err, operation, secrets)));
    result.on("close", () => {
      clearTimeout(timer);
      body.abort();
      source.destroy();
    });
    return result;
  }

  async function head(key: string): Promise<ObjectInfo> {
    const name = fullKey(key);
    const blob = (await container()).getBlobClient(name);
    const out = await callFor(`azblob head ${name}`)(({ abortSignal }) => blob.getProperties({ abortSignal }), never);
    return { key, size: out.contentLength ?? 0, lastModified: out.lastModified ?? new Date(0) };
  }

  async function* list(listPrefix: string): AsyncIterable<ObjectInfo> {
    const full = prefix + validatePrefix(listPrefix);
    const call = callFor(`azblob list ${full || "/"}`);
    const c = await container();
    let token: string | undefined;
    do {
      const page = await call(async ({ abortSignal }) => {
        const next = await c.listBlobsFlat({ prefix: full || undefined, abortSignal }).byPage({ continuationToken: token, maxPageSize: 5000 }).next();
        return next.done ? undefined : next.value;
      }, never);
      for (const item of page?.segment.blobItems ?? []) {
        if (!item.name.startsWith(prefix)) continue;
        yield { key: item.name.slice(prefix.length), size: item.properties.contentLength ?? 0, lastModified: item.properties.lastModified };
      }
      token = page?.continuationToken || undefined;
    } while (token);
  }

  async function del(key: string): Promise<void> {
    const name = fullKey(key);
    const blob = (await container()).getBlobClient(name);
    await callFor(`azblob delete ${name}`)(({ abortSignal }) => blob.deleteIfExists({ abortSignal }), never);
  }

  return { url, put, get, head, list, delete: del } satisfies Destination;
}

// One attempt: aborted when the caller aborts, or when no bytes moved for `ms` (then a
// RequestIdleError, which is retried). Progress callbacks push the deadline back.
async function attempt<T>(request: (a: AzureAttempt) => Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new RequestIdleError(ms)), ms);
  };
  arm();
  try {
    return await request({ abortSignal: AbortSignal.any([signal, idle.signal]), onProgress: arm });
  } catch (err) {
    if (idle.signal.aborted && !signal.aborted) throw idle.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function makeClient(options: AzureBlobDestinationOptions): Promise<ContainerClient> {
  const sdk = await import("@azure/storage-blob");
  // Our own retry layer wraps every call (retry.ts); two layers would multiply the attempts.
  const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
  let service: BlobServiceClient;
  if (options.connectionString) {
    service = sdk.BlobServiceClient.fromConnectionString(options.connectionString.reveal(), pipeline);
  } else {
    const endpoint = (options.endpoint ?? `https://${options.account}.blob.core.windows.net`).replace(/\/+$/, "");
    if (options.accountKey) {
      service = new sdk.BlobServiceClient(endpoint, new sdk.StorageSharedKeyCredential(options.account as string, options.accountKey.reveal()), pipeline);
    } else {
      const sas = (options.sasToken?.reveal() ?? "").replace(/^\?/, "");
      service = new sdk.BlobServiceClient(`${endpoint}?${sas}`, new sdk.AnonymousCredential(), pipeline);
    }
  }
  return service.getContainerClient(options.container);
}

function checkOptions(opts: AzureBlobDestinationOptions): AzureBlobDestinationOptions {
  // Azure's container naming rules: 3–63 lower-case letters, digits and single '-' between them.
  if (!/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/.test(opts.container ?? "")) {
    throw new ConfigError("container", `${JSON.stringify(opts.container ?? "")} is not a valid container name (3–63 characters: a-z, 0-9 and single '-' between them)`);
  }
  const ways = [opts.connectionString, opts.accountKey, opts.sasToken].filter(Boolean).length;
  if (ways === 0) {
    throw new ConfigError("azure", "no credentials; set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN");
  }
  if (ways > 1) throw new ConfigError("azure", "more than one of a connection string, an account key and a SAS token is set; keep one");
  if (!opts.connectionString && !(opts.account && /^[a-z0-9]{3,24}$/.test(opts.account))) {
    throw new ConfigError("account", `${JSON.stringify(opts.account ?? "")} is not a storage account name (3–24 characters: a-z, 0-9); set AZURE_STORAGE_ACCOUNT`);
  }
  if (opts.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(opts.endpoint)) {
    throw new ConfigError("endpoint", `${JSON.stringify(opts.endpoint)} is not an http(s) URL, e.g. https://myaccount.blob.core.windows.net`);
  }
  if (opts.blockSize !== undefined && (!Number.isInteger(opts.blockSize) || opts.blockSize < MIN_PART_SIZE || opts.blockSize > MAX_BLOCK_SIZE)) {
    throw new ConfigError("blockSize", `must be an integer between ${MIN_PART_SIZE} (5 MiB) and ${MAX_BLOCK_SIZE} (4000 MiB) bytes`);
  }
  checkTransferOptions(opts);
  return opts;
}
