/**
 * Builds an ArchiveSummary from archive events, for readers that drain an archive (inspect, the
 * verifier, the dump-directory writer) and must report what it held.
 */
import { IntegrityError } from "../errors.js";
import type { ArchiveEofEvent, ArchiveHeader, ArchiveSummary, NamespaceMetadata } from "./types.js";

/** Accumulates header, metadata and EOF events; `summary()` may only be called after the header. */
export interface SummaryCollector {
  header(header: ArchiveHeader): void;
  metadata(meta: NamespaceMetadata): void;
  eof(event: ArchiveEofEvent): void;
  /** Throws IntegrityError when no header was seen (an archive cannot be summarized without one). */
  summary(): ArchiveSummary;
}

/** Creates a SummaryCollector. Namespaces are listed in the order their EOF headers appear. */
export function createSummaryCollector(): SummaryCollector {
  let header: ArchiveHeader | undefined;
  const metadata: NamespaceMetadata[] = [];
  const namespaces: ArchiveSummary["namespaces"] = [];
  return {
    header(h) {
      header = h;
    },
    metadata(meta) {
      metadata.push(meta);
    },
    eof(e) {
      const dot = e.ns.indexOf(".");
      namespaces.push({
        ns: e.ns,
        db: e.ns.slice(0, dot),
        collection: e.ns.slice(dot + 1),
        documents: e.documents,
        bytes: e.bytes,
        crc: e.crc.toString(),
        crcOk: e.crcOk,
      });
    },
    summary() {
      if (!header) throw new IntegrityError("archive: no archive header was read");
      return { header, namespaces, metadata };
    },
  };
}
