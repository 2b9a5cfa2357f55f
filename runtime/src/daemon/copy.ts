import { pipeline } from "node:stream/promises";
import { PassThrough } from "node:stream";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError, NotFoundError } from "../errors.js";
import { manifestKeyFor, type BackupManifest } from "../manifest/manifest.js";
import { writeManifest } from "../manifest/store.js";
import { createHashingStream } from "../pipeline/streams.js";

/** What `copyBackup` did. */
export interface CopyOutcome {
  /** false when `to` already held the manifest (nothing copied). */
  readonly copied: boolean;
  readonly bytes: number;
  readonly manifestKey: string;
}

/**
 * Copies one complete backup from `from` to `to` through the Destination interface: the stored
 * object as is (already compressed and encrypted, so nothing is decrypted), then — only once the
 * bytes read and the bytes `to` stored both have the manifest's size and SHA-256 — the manifest,
 * last, which is what makes the copy a backup. On a mismatch or error the partial object is
 * deleted (best effort) and no manifest is written. Idempotent: when `to` already has the
 * manifest it does nothing. Throws IntegrityError for a mismatch, and the destinations' errors.
 */
export async function copyBackup(from: Destination, to: Destination, manifest: BackupManifest, opts: { signal?: AbortSignal } = {}): Promise<CopyOutcome> {
  const manifestKey = manifestKeyFor(manifest.id);
  try {
    await to.head(manifestKey);
    return { copied: false, bytes: 0, manifestKey };
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  const { key, size, sha256 } = manifest.object;
  const hasher = createHashingStream();
  const body = new PassThrough();
  const reading = pipeline(await from.get(key), hasher, body, { signal: opts.signal });
  let stored;
  try {
    [stored] = await Promise.all([to.put(key, body, { signal: opts.signal, sizeHint: size }), reading]);
  } catch (err) {
    body.destroy();
    await to.delete(key).catch(() => undefined);
    throw err;
  }
  const read = hasher.digest();
  if (hasher.bytes !== size || read !== sha256 || stored.size !== size || stored.sha256 !== sha256) {
    await to.delete(key).catch(() => undefined);
    throw new IntegrityError(
      `copy ${manifest.id} to ${to.url}: read ${hasher.bytes} bytes with SHA-256 ${read}, stored ${stored.size} bytes with SHA-256 ${stored.sha256}, but the manifest says ${size} bytes with ${sha256}; nothing was listed in ${to.url}`,
    );
  }
  return { copied: true, bytes: size, manifestKey: await writeManifest(to, manifest) };
}
