/**
 * A pass-through stream that proves a mongodump archive well formed while it flows to the next
 * stage (compression, encryption, storage): the hot path of `backup --from-archive`.
 */
import { Transform, type TransformCallback } from "node:stream";
import { createArchiveScanner, type ScanOptions } from "./scanner.js";
import { createSummaryCollector } from "./summary.js";
import type { ArchiveSummary } from "./types.js";

/** The verifier stream plus the summary it produces. */
export type ArchiveVerifier = Transform & {
  /**
   * Resolves when the input ended after a complete, correct archive; rejects with the same
   * IntegrityError the stream was destroyed with, or with the error that destroyed the stream.
   * Never rejects unhandled: a rejection nobody awaits is ignored.
   */
  readonly summary: Promise<ArchiveSummary>;
};

/** The archive checks of the verifier without the stream around them: for a caller that already holds the bytes. */
export interface ArchiveCheck {
  /** Parses the next bytes; throws IntegrityError on the first problem (and on every call after it). */
  push(chunk: Buffer): void;
  /** Declares the input complete and returns its summary; throws IntegrityError if it is not a whole archive. */
  end(): ArchiveSummary;
}

/**
 * Creates the checks `createArchiveVerifier` runs on every chunk (see there). With `deferredCrc`
 * the CRCs are computed elsewhere and compared in `end()` (ScanOptions.deferredCrc).
 */
export function createArchiveCheck(options: Pick<ScanOptions, "deferredCrc"> = {}): ArchiveCheck {
  const collector = createSummaryCollector();
  const scanner = createArchiveScanner(collector, options);
  return {
    push: (chunk) => scanner.push(chunk),
    end: () => {
      scanner.end();
      return collector.summary();
    },
  };
}

/**
 * Creates a Transform whose output is its input, byte for byte and chunk for chunk, while it
 * parses the archive and checks structure and per-namespace CRC-64 (documents are checksummed
 * in place, never copied or decoded). On any problem the stream is destroyed with an
 * IntegrityError (see readArchive for the list), so a `pipeline` through it fails. A chunk is
 * forwarded only after it was parsed, so bytes after the first bad one are never passed on;
 * a CRC can only be checked at its namespace's EOF header, so earlier chunks of a namespace whose
 * CRC turns out wrong have been forwarded: consumers must treat the output as unproven until
 * the stream ends without error.
 */
export function createArchiveVerifier(): ArchiveVerifier {
  const check = createArchiveCheck();
  let resolve!: (s: ArchiveSummary) => void;
  let reject!: (e: unknown) => void;
  const summary = new Promise<ArchiveSummary>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  summary.catch(() => undefined);

  const stream = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        check.push(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      try {
        resolve(check.end());
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  stream.on("error", (err) => reject(err));
  stream.on("close", () => reject(new Error("archive verifier closed before the end of the archive")));
  return Object.assign(stream, { summary }) as ArchiveVerifier;
}
