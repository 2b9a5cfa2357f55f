/**
 * Shared types of the mongodump archive format (mongodb/mongo-tools `common/archive/spec.md`).
 * Field names in comments are the BSON names used in the file.
 */

/** The archive header document that follows the magic number. */
export interface ArchiveHeader {
  /** `version`: the archive format version; mongodump writes "0.1". */
  version: string;
  /** `server_version`: version of the MongoDB server that was dumped. */
  serverVersion: string;
  /** `tool_version`: version of the tool that wrote the archive (e.g. "r3.4.3"). */
  toolVersion: string;
  /** `concurrent_collections`: how many namespaces were dumped (and may be interleaved) at once. */
  concurrentCollections?: number;
}

/** One collection-metadata document of the prelude. */
export interface NamespaceMetadata {
  /** `db`: database name; "" for the oplog. */
  db: string;
  /** `collection`: collection name. */
  collection: string;
  /**
   * `metadata`: options, indexes, UUID and type of the collection as Extended JSON v2 text —
   * exactly what mongodump writes to `<coll>.metadata.json`. Empty for the oplog.
   */
  metadata: string;
  /** `size`: total uncompressed size in bytes as announced by the writer (mongodump often writes 0). */
  size: number;
  /**
   * `type`: collection type written by newer mongodump ("collection", "view", "timeseries", or "").
   * Absent when the document has no `type` field; kept distinct from "" so documents round-trip
   * byte for byte. A "timeseries" entry has no data of its own: its documents travel under
   * `system.buckets.<collection>`.
   */
  type?: string;
}

/** Events of a streamed archive, in file order. */
export type ArchiveEvent =
  | { kind: "header"; header: ArchiveHeader }
  | { kind: "metadata"; meta: NamespaceMetadata }
  | {
      kind: "documents";
      /** `${db}.${collection}` (".oplog" for the oplog). */
      ns: string;
      /**
       * Raw BSON documents, one per buffer, never decoded. They may share memory with the input
       * chunks, so the producer of the input must not reuse its buffers.
       */
      docs: Buffer[];
    }
  | {
      kind: "eof";
      ns: string;
      /** Documents seen for the namespace across all its segments. */
      documents: number;
      /** Sum of the documents' byte lengths. */
      bytes: number;
      /** The CRC stored in the EOF header, as the signed int64 found in the file. */
      crc: bigint;
      /** CRC-64/XZ of the documents, as the signed int64 the writer would store. */
      computedCrc: bigint;
      crcOk: boolean;
    };

/** The `eof` member of ArchiveEvent. */
export type ArchiveEofEvent = Extract<ArchiveEvent, { kind: "eof" }>;

/** Per-namespace outcome in an ArchiveSummary. */
export interface NamespaceSummary {
  ns: string;
  db: string;
  collection: string;
  documents: number;
  bytes: number;
  /** The stored int64 CRC as a decimal string (JSON has no int64). */
  crc: string;
  crcOk: boolean;
}

/** What a whole archive contained; namespaces are listed in the order their EOF headers appear. */
export interface ArchiveSummary {
  header: ArchiveHeader;
  namespaces: NamespaceSummary[];
  metadata: NamespaceMetadata[];
}

/** A namespace to write: its prelude entry and its raw BSON documents, one document per chunk. */
export interface ArchiveSourceNamespace {
  meta: NamespaceMetadata;
  documents: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** Everything `writeArchive` needs. */
export interface ArchiveSource {
  header: ArchiveHeader;
  namespaces: ArchiveSourceNamespace[];
  /**
   * The prelude to write, when it must differ from `namespaces[].meta` in order or content: a
   * "timeseries" entry whose data is under `system.buckets.<name>`, or to reproduce an archive
   * whose data order differs from its prelude order (mongodump's does). Defaults to the metas.
   */
  prelude?: NamespaceMetadata[];
}

/** `${db}.${collection}`, the archive's namespace string (".oplog" for the oplog). */
export function namespaceOf(meta: { db: string; collection: string }): string {
  return `${meta.db}.${meta.collection}`;
}
