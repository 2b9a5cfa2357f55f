import { addAbortSignal, type Readable } from "node:stream";
import { summarizeArchive } from "../archive/reader.js";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError } from "../errors.js";
import { findBackup, writeVerification, type VerificationRecord } from "../manifest/store.js";
import { decodeArtifact } from "./decode.js";
import type { DecryptionKeys } from "./encryption.js";
import { fetchVerified } from "./fetch.js";
import { compareWithManifest, type NamespaceCheck } from "./restore.js";

/** Outcome of `verifyBackup`. */
export interface VerifyResult {
  readonly record: VerificationRecord;
  readonly recordKey?: string;
  readonly checks: NamespaceCheck[];
}

/** Options of `verifyBackup` and `verifyChecksum`. */
export interface VerifyOptions {
  /** Store a verification record (default true). */
  readonly record?: boolean;
  readonly spoolDir?: string;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
  readonly onDownload?: (bytes: number, total: number) => void;
}

// Stores a record unless the caller asked for none; resolves with its key.
function recorder(dest: Destination, opts: VerifyOptions): (record: VerificationRecord) => Promise<string | undefined> {
  return async (record) => (opts.record === false ? undefined : writeVerification(dest, record));
}

/**
 * Reads backup `ref` back: size and SHA-256 against the manifest, decryption (authenticating
 * every chunk), decompression, every document parsed and every CRC and count compared with the
 * manifest. Stores the outcome as a new verification record beside the backup (unless `record`
 * is false) — the manifest itself is never rewritten. Resolves with ok=false for count or CRC
 * differences found while parsing; rejects for failures that stop reading (corrupt object, wrong
 * key) after recording them. When `signal` fires, at any stage, the read-back stops as a restore's
 * does (the local copy is destroyed, a decryptor's process killed), no record is stored and the
 * call rejects with the signal's reason.
 */
export async function verifyBackup(dest: Destination, ref: string, keys: DecryptionKeys, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const now = opts.now ?? (() => new Date());
  const { manifest } = await findBackup(dest, ref);
  const save = recorder(dest, opts);
  let copy;
  try {
    copy = await fetchVerified(dest, manifest, { spoolDir: opts.spoolDir, signal: opts.signal, onProgress: opts.onDownload });
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof IntegrityError) await save({ id: manifest.id, verifiedAt: now().toISOString(), ok: false, level: "read", detail: { error: err.message } });
    throw err;
  }
  try {
    // As openBackup does: destroying the source on the signal tears down every layer after it.
    const source = copy.open();
    if (opts.signal) addAbortSignal(opts.signal, source as unknown as Readable);
    const { stream, layers } = await decodeArtifact(source, keys);
    let checks: NamespaceCheck[];
    try {
      const summary = await summarizeArchive(stream, { tolerateCrc: true });
      checks = compareWithManifest(manifest, summary);
    } catch (err) {
      // A stream torn down by the signal is not a damaged backup: nothing is recorded.
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (err instanceof IntegrityError) await save({ id: manifest.id, verifiedAt: now().toISOString(), ok: false, level: "read", detail: { error: err.message } });
      throw err;
    }
    opts.signal?.throwIfAborted();
    const ok = checks.every((c) => c.ok);
    const record: VerificationRecord = {
      id: manifest.id,
      verifiedAt: now().toISOString(),
      ok,
      level: "read",
      detail: { sha256: manifest.object.sha256, size: manifest.object.size, layers, namespaces: checks },
    };
    const recordKey = await save(record);
    return recordKey ? { record, recordKey, checks } : { record, checks };
  } finally {
    await copy.cleanup();
  }
}

/**
 * Checksum-only verification, for a host without the identity: the stored object's size and
 * SHA-256 against the manifest, nothing decrypted. Stores the outcome as a "checksum" record
 * (unless `record` is false), which prune counts as verified. Resolves with the passing record;
 * rejects with IntegrityError after recording a mismatch.
 */
export async function verifyChecksum(dest: Destination, ref: string, opts: VerifyOptions = {}): Promise<Omit<VerifyResult, "checks">> {
  const now = opts.now ?? (() => new Date());
  const { manifest } = await findBackup(dest, ref);
  const save = recorder(dest, opts);
  const base = { id: manifest.id, level: "checksum" as const };
  try {
    const copy = await fetchVerified(dest, manifest, { spoolDir: opts.spoolDir, signal: opts.signal, onProgress: opts.onDownload });
    await copy.cleanup();
  } catch (err) {
    if (err instanceof IntegrityError) await save({ ...base, verifiedAt: now().toISOString(), ok: false, detail: { error: err.message } });
    throw err;
  }
  const record: VerificationRecord = { ...base, verifiedAt: now().toISOString(), ok: true, detail: { sha256: manifest.object.sha256, size: manifest.object.size } };
  const recordKey = await save(record);
  return recordKey ? { record, recordKey } : { record };
}
