import { addAbortSignal, type Readable } from "node:stream";
import { readArchive } from "../archive/reader.js";
import { writeDumpDirectory } from "../archive/dump-dir.js";
import type { ArchiveEvent, ArchiveSummary } from "../archive/types.js";
import type { Destination } from "../destinations/destination.js";
import { IntegrityError } from "../errors.js";
import type { BackupManifest } from "../manifest/manifest.js";
import { findBackup } from "../manifest/store.js";
import { decodeArtifact, type ArtifactLayers } from "./decode.js";
import type { DecryptionKeys } from "./encryption.js";
import { fetchVerified } from "./fetch.js";

/** Per-namespace comparison of what was read back with what the manifest recorded. */
export interface NamespaceCheck {
  readonly ns: string;
  readonly expected: number;
  readonly found: number;
  readonly crcOk: boolean;
  readonly ok: boolean;
}

/** Compares an archive summary with the manifest: counts, CRCs, and missing or extra namespaces. */
export function compareWithManifest(manifest: BackupManifest, summary: ArchiveSummary): NamespaceCheck[] {
  const found = new Map(summary.namespaces.map((n) => [n.ns, n]));
  const checks: NamespaceCheck[] = manifest.namespaces.map((m) => {
    const f = found.get(m.ns);
    const crcOk = f ? f.crcOk && f.crc === m.crc : false;
    return { ns: m.ns, expected: m.documents, found: f?.documents ?? 0, crcOk, ok: !!f && crcOk && f.documents === m.documents };
  });
  for (const f of summary.namespaces) if (!manifest.namespaces.some((m) => m.ns === f.ns)) checks.push({ ns: f.ns, expected: 0, found: f.documents, crcOk: f.crcOk, ok: false });
  return checks;
}

/**
 * Throws IntegrityError naming every namespace whose count or CRC differs from the manifest, in
 * the words a restore uses; returns when every check passed.
 */
export function assertMatchesManifest(manifest: BackupManifest, checks: readonly NamespaceCheck[]): void {
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) throw new IntegrityError(`backup ${manifest.id}: ${bad.map((c) => `${c.ns} has ${c.found} documents, manifest says ${c.expected}${c.crcOk ? "" : " (CRC mismatch)"}`).join("; ")}`);
}

/** The stages a restore goes through, shared by every target: confirm, decrypt, decompress, parse. */
export interface OpenedBackup {
  readonly manifest: BackupManifest;
  readonly layers: ArtifactLayers;
  /** Archive events, parsed and CRC-checked as they are read. */
  readonly events: AsyncIterable<ArchiveEvent>;
  readonly cleanup: () => Promise<void>;
}

/**
 * Resolves `ref`, downloads the object and confirms size and SHA-256 against the manifest before
 * anything else, then opens it as a stream of archive events. The caller consumes `events` into
 * its target and must call `cleanup`. `signal` stops the download and, later, the decoding: once it
 * fires the local copy is destroyed, a decryptor's process is killed, and `events` rejects with an
 * the signal's reason at once, even while it waits for data.
 */
export async function openBackup(dest: Destination, ref: string, keys: DecryptionKeys, opts: { spoolDir?: string; signal?: AbortSignal; onDownload?: (bytes: number, total: number) => void } = {}): Promise<OpenedBackup> {
  const { manifest } = await findBackup(dest, ref);
  return openManifest(dest, manifest, keys, opts);
}

/** `openBackup` for a manifest already in hand (a backup's, or an oplog slice's). */
export async function openManifest(dest: Destination, manifest: BackupManifest, keys: DecryptionKeys, opts: { spoolDir?: string; signal?: AbortSignal; onDownload?: (bytes: number, total: number) => void } = {}): Promise<OpenedBackup> {
  const copy = await fetchVerified(dest, manifest, { spoolDir: opts.spoolDir, signal: opts.signal, onProgress: opts.onDownload }).catch((err: unknown) => {
    throw opts.signal?.aborted ? opts.signal.reason : err;
  });
  try {
    const source = copy.open();
    if (opts.signal) addAbortSignal(opts.signal, source as unknown as Readable);
    const { stream, layers } = await decodeArtifact(source, keys);
    return { manifest, layers, events: asInterrupted(readArchive(stream), opts.signal), cleanup: copy.cleanup };
  } catch (err) {
    await copy.cleanup();
    throw opts.signal?.aborted ? opts.signal.reason : err;
  }
}

/** Passes `events` on; once `signal` has fired, any failure is reported as the signal's reason. */
async function* asInterrupted(events: AsyncIterable<ArchiveEvent>, signal: AbortSignal | undefined): AsyncGenerator<ArchiveEvent> {
  try {
    yield* events;
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}

/** Options of `restoreToDirectory` and `restoreManifestToDirectory`. */
export interface DirectoryRestoreOptions {
  readonly spoolDir?: string;
  readonly signal?: AbortSignal;
  readonly onDownload?: (bytes: number, total: number) => void;
  /**
   * Rewrites the archive's events on their way to the directory, after they were checked against
   * the manifest (a point-in-time restore appends the captured oplog to `.oplog` here). Whatever it
   * throws discards the directory as any other failure does.
   */
  readonly extend?: (events: AsyncIterable<ArchiveEvent>) => AsyncIterable<ArchiveEvent>;
}

/** What a restore into a directory wrote. */
export interface DirectoryRestoreResult {
  readonly manifest: BackupManifest;
  readonly checks: NamespaceCheck[];
  readonly layers: ArtifactLayers;
}

/**
 * Restores backup `ref` into a mongodump directory layout at `dir` (readable by
 * `mongorestore --dir` and `bsondump`). Writes nothing until the object matched its manifest;
 * the directory appears whole at the end or not at all; counts and CRCs are checked against the
 * manifest (IntegrityError on any difference, and the directory is not kept). When `signal` fires,
 * at any stage, the call rejects, nothing is published and no temporary file is left.
 */
export async function restoreToDirectory(dest: Destination, ref: string, dir: string, keys: DecryptionKeys, opts: DirectoryRestoreOptions = {}): Promise<DirectoryRestoreResult> {
  const { manifest } = await findBackup(dest, ref);
  return restoreManifestToDirectory(dest, manifest, dir, keys, opts);
}

/** `restoreToDirectory` for a manifest already in hand, with the same guarantees. */
export async function restoreManifestToDirectory(dest: Destination, manifest: BackupManifest, dir: string, keys: DecryptionKeys, opts: DirectoryRestoreOptions = {}): Promise<DirectoryRestoreResult> {
  const opened = await openManifest(dest, manifest, keys, opts);
  try {
    let checks: NamespaceCheck[] = [];
    // Counts are compared before the directory is committed, so a mismatch leaves nothing behind.
    async function* checked(): AsyncGenerator<ArchiveEvent> {
      const seen: ArchiveSummary["namespaces"][number][] = [];
      let header: ArchiveSummary["header"] | undefined;
      for await (const ev of opened.events) {
        if (ev.kind === "header") header = ev.header;
        if (ev.kind === "eof") {
          const [db, ...rest] = ev.ns.split(".");
          seen.push({ ns: ev.ns, db: db ?? "", collection: rest.join("."), documents: ev.documents, bytes: ev.bytes, crc: BigInt.asIntN(64, ev.crc).toString(), crcOk: ev.crcOk });
        }
        yield ev;
      }
      checks = compareWithManifest(manifest, { header: header!, namespaces: seen, metadata: [] });
      assertMatchesManifest(manifest, checks);
    }
    await writeDumpDirectory(opts.extend ? opts.extend(checked()) : checked(), dir, { signal: opts.signal });
    return { manifest, checks, layers: opened.layers };
  } finally {
    await opened.cleanup();
  }
}
