import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError, describeLocalIO } from "../errors.js";
import type { BackupManifest } from "../manifest/manifest.js";
import { createHashingStream } from "./streams.js";

/** A local copy of a stored object whose size and SHA-256 matched its manifest. */
export interface VerifiedCopy {
  readonly path: string;
  open(): NodeJS.ReadableStream & AsyncIterable<Uint8Array>;
  /** Removes the copy; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * Downloads a backup's object to a private temporary file while hashing it, and returns the copy
 * only if its size and SHA-256 equal the manifest's: nothing is restored from a corrupt or
 * substituted object. Throws IntegrityError (the copy removed) otherwise.
 */
export async function fetchVerified(dest: Destination, manifest: BackupManifest, opts: { spoolDir?: string; signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void } = {}): Promise<VerifiedCopy> {
  const { key, size, sha256 } = manifest.object;
  const info = await dest.head(key);
  if (info.size !== size) throw new IntegrityError(`backup ${manifest.id}: stored object ${key} is ${info.size} bytes, the manifest says ${size}; the object was altered or replaced`);
  const dir = await mkdtemp(join(opts.spoolDir ?? tmpdir(), "cloudsync-restore-"));
  const path = join(dir, "object");
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    // The hasher's count is the download progress too: one counter of the bytes read.
    const hasher = createHashingStream((seen) => opts.onProgress?.(seen, size));
    await pipeline(
      await dest.get(key),
      hasher,
      createWriteStream(path, { mode: 0o600 }),
      { signal: opts.signal },
    ).catch((err: unknown) => {
      throw describeLocalIO(err, `write ${path}`);
    });
    const got = hasher.digest();
    if (hasher.bytes !== size || got !== sha256) {
      throw new IntegrityError(`backup ${manifest.id}: object ${key} has SHA-256 ${got} (${hasher.bytes} bytes) but the manifest says ${sha256} (${size} bytes); it is corrupt — restore an older backup`);
    }
    return { path, open: () => createReadStream(path), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
