/**
 * Streaming reader of mongodump archives: turns bytes into ArchiveEvents with constant memory
 * (one input chunk plus at most one document split across chunks), checking everything on the
 * way. See scanner.ts for what is checked.
 */
import { createArchiveScanner, type ScanOptions } from "./scanner.js";
import { createSummaryCollector } from "./summary.js";
import type { ArchiveEvent, ArchiveSummary } from "./types.js";

/** Options of readArchive and summarizeArchive. */
export type ReadArchiveOptions = ScanOptions;

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Yields the events of the archive read from `input`, in file order: one `header`, one
 * `metadata` per prelude entry, `documents` batches (every whole document found in an input
 * chunk, per namespace) and one `eof` per namespace.
 *
 * Errors: throws IntegrityError — message prefixed "archive:" and naming the namespace and
 * byte offset where known — on a bad magic number, malformed BSON, a document length outside
 * 5 bytes..16 MiB+16 KiB, metadata that is not Extended JSON, a namespace missing from the
 * prelude, a second EOF header, trailing data, input that ends anywhere but after the last
 * EOF block, and (unless `tolerateCrc`) a CRC mismatch. Events already yielded before the error
 * came from a prefix of the input that was well formed. Errors of `input` propagate unchanged.
 */
export async function* readArchive(
  input: AsyncIterable<Uint8Array>,
  options: ReadArchiveOptions = {},
): AsyncGenerator<ArchiveEvent> {
  let events: ArchiveEvent[] = [];
  const scanner = createArchiveScanner(
    {
      header: (header) => events.push({ kind: "header", header }),
      metadata: (meta) => events.push({ kind: "metadata", meta }),
      documents: (ns, docs) => events.push({ kind: "documents", ns, docs }),
      eof: (event) => events.push(event),
    },
    options,
  );
  for await (const chunk of input) {
    try {
      scanner.push(asBuffer(chunk));
    } finally {
      // Events found before a problem in the same chunk are still delivered before the error.
      const ready = events;
      events = [];
      for (const e of ready) yield e;
    }
  }
  scanner.end();
}

/**
 * Reads a whole archive and returns what it holds, without keeping documents.
 * Throws as readArchive does; with `{ tolerateCrc: true }` a CRC mismatch is reported as
 * `crcOk: false` for that namespace instead (structural problems still throw).
 */
export async function summarizeArchive(
  input: AsyncIterable<Uint8Array>,
  options: ReadArchiveOptions = {},
): Promise<ArchiveSummary> {
  const collector = createSummaryCollector();
  // Without a documents callback the scanner only checksums documents: no slicing, no copies.
  const scanner = createArchiveScanner(collector, options);
  for await (const chunk of input) scanner.push(asBuffer(chunk));
  scanner.end();
  return collector.summary();
}
