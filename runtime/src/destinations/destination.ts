import type { Readable } from "node:stream";

/** What `head` and `list` report about a stored object. */
export interface ObjectInfo {
  /** Key relative to the destination's root (no leading slash), e.g. "backups/2026-…age". */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the object was last written, as the store reports it. */
  readonly lastModified: Date;
}

/** Result of a successful `put`. */
export interface PutResult {
  readonly key: string;
  /** Bytes the destination received and stored. */
  readonly size: number;
  /** Hex SHA-256 of the bytes the destination received, computed by the destination itself. */
  readonly sha256: string;
}

export interface PutOptions {
  /** Aborts the upload; nothing is left under the final key. */
  readonly signal?: AbortSignal;
  /** Expected total size when known in advance (lets S3 choose a part size); never trusted for integrity. */
  readonly sizeHint?: number;
  /** Content-Type to record where the store supports it. */
  readonly contentType?: string;
}

/** Files that writes which never finished left behind (a process killed mid-`put`). */
export interface TemporaryFiles {
  /** Every such file, its `key` the path from the destination's root (`data/.<name>.tmp-<hex>`), in ascending key order. */
  list(): AsyncIterable<ObjectInfo>;
  /** Removes one listed file. Idempotent; refuses (ConfigError) a key that is not a temporary file's. */
  remove(key: string): Promise<void>;
}

/**
 * Where backups are stored: a local directory or an S3-compatible bucket.
 *
 * Keys are relative, '/'-separated, never start with '/', and never contain '..' segments;
 * implementations reject other keys with a ConfigError. Every method may throw RemoteError
 * (after the implementation's own retries) or LocalIOError for environmental faults.
 *
 * Retries stay at the request level, inside each implementation (S3 and Azure Blob retry every
 * request, each part of an upload buffered so that it can be sent again; GCS lets its SDK resume
 * the upload session): a `put` body is a stream, read once, and cannot be replayed, so no wrapper
 * around a whole `put` can retry it. Cross-cutting wrappers (progress, logging) are composed in
 * one place, `openDestination`.
 *
 * Every implementation is checked by the shared contract suite in test/destinations/contract.ts.
 */
export interface Destination {
  /** Human-readable location, free of credentials (e.g. "s3://bucket/prefix" or "/srv/backups"). */
  readonly url: string;

  /**
   * Stores `body` under `key`, replacing any existing object. Atomic: readers see either the old
   * object, or the whole new one, never a part. If the body stream errors or `signal` aborts,
   * the error is rethrown and nothing new is visible under `key` (temporary files and
   * incomplete multipart uploads are cleaned up on a best-effort basis).
   */
  put(key: string, body: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;

  /** Opens the object for reading. Throws NotFoundError if `key` does not exist. */
  get(key: string): Promise<Readable>;

  /** Size and time of the object. Throws NotFoundError if `key` does not exist. */
  head(key: string): Promise<ObjectInfo>;

  /**
   * Every object whose key starts with `prefix` (recursively), in ascending key order.
   * An empty result is not an error.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /**
   * Removes the object. Idempotent: deleting a missing key succeeds. On a versioned bucket this
   * adds a delete marker; history is the bucket's to keep.
   */
  delete(key: string): Promise<void>;

  /**
   * Leftovers of interrupted writes, for prune to report and remove, where the store can have
   * them: a local directory's temporary files after a kill -9. Absent where an unfinished write
   * leaves nothing visible (an S3 multipart upload that never completed is not an object).
   */
  readonly temporaryFiles?: TemporaryFiles;
}
