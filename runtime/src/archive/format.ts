/**
 * The archive's control documents — header, collection metadata and namespace headers — in
 * both directions, plus the format's constants. Field order and BSON types follow what
 * mongodump writes (mongo-tools `common/archive/spec.md` and its Go structs), so what we encode
 * is byte-identical to mongodump's output.
 */
import { BSON, EJSON, Int32, Long } from "bson";
import { IntegrityError } from "../errors.js";
import type { ArchiveHeader, NamespaceMetadata } from "./types.js";

/** 0x8199e26d as stored: little-endian, so the file starts 6d e2 99 81. */
export const MAGIC = Buffer.from([0x6d, 0xe2, 0x99, 0x81]);
/** Ends the prelude and every namespace segment. */
export const TERMINATOR = Buffer.from([0xff, 0xff, 0xff, 0xff]);
/** The terminator read as a little-endian int32. */
export const TERMINATOR_INT32 = -1;
/** An empty BSON document is five bytes: the length and the trailing NUL. */
export const MIN_BSON_SIZE = 5;
/**
 * Largest document accepted: the server's 16 MiB user limit plus the 16 KiB it allows itself for
 * internal documents (oplog entries of a maximal update can exceed 16 MiB slightly).
 */
export const MAX_DOCUMENT_SIZE = 16 * 1024 * 1024 + 16 * 1024;
/** The only archive format version in existence. */
export const FORMAT_VERSION = "0.1";

/** A decoded namespace header or EOF header. */
export interface NamespaceHeader {
  db: string;
  collection: string;
  eof: boolean;
  /** Signed int64 as stored; 0 in non-EOF headers. */
  crc: bigint;
}

function serialize(doc: Record<string, unknown>): Buffer {
  const u8 = BSON.serialize(doc);
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Encodes the archive header: concurrent_collections, version, server_version, tool_version. */
export function encodeHeaderDocument(header: ArchiveHeader, concurrency = 1): Buffer {
  return serialize({
    concurrent_collections: new Int32(header.concurrentCollections ?? concurrency),
    version: header.version,
    server_version: header.serverVersion,
    tool_version: header.toolVersion,
  });
}

/**
 * Encodes one prelude entry: db, collection, metadata, size, then type when present. `size` is an
 * int32 when it fits and an int64 otherwise, as Go's encoder writes a Go `int`.
 */
export function encodeMetadataDocument(meta: NamespaceMetadata): Buffer {
  const doc: Record<string, unknown> = {
    db: meta.db,
    collection: meta.collection,
    metadata: meta.metadata,
    size: Number.isSafeInteger(meta.size) && meta.size >= -0x80000000 && meta.size <= 0x7fffffff
      ? new Int32(meta.size)
      : Long.fromNumber(meta.size),
  };
  if (meta.type !== undefined) doc.type = meta.type;
  return serialize(doc);
}

/** Encodes a namespace header (eof false, CRC 0) or an EOF header carrying the signed int64 CRC. */
export function encodeNamespaceHeader(db: string, collection: string, eof: boolean, crc = 0n): Buffer {
  return serialize({ db, collection, EOF: eof, CRC: BigInt.asIntN(64, crc) });
}

function decode(buf: Uint8Array, what: string, offset: number): Record<string, unknown> {
  try {
    return BSON.deserialize(buf, { useBigInt64: true, promoteBuffers: false, validation: { utf8: true } });
  } catch (err) {
    throw new IntegrityError(`archive: ${what} at offset ${offset} is not valid BSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function stringField(doc: Record<string, unknown>, name: string, what: string, offset: number, fallback?: string): string {
  const v = doc[name];
  if (typeof v === "string") return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new IntegrityError(`archive: ${what} at offset ${offset} has no string field "${name}"`);
}

function integerField(doc: Record<string, unknown>, name: string): number | undefined {
  const v = doc[name];
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

/** Decodes and checks the archive header. Throws IntegrityError naming the offset. */
export function decodeHeaderDocument(buf: Uint8Array, offset: number): ArchiveHeader {
  const what = "archive header";
  const doc = decode(buf, what, offset);
  const header: ArchiveHeader = {
    version: stringField(doc, "version", what, offset),
    serverVersion: stringField(doc, "server_version", what, offset, ""),
    toolVersion: stringField(doc, "tool_version", what, offset, ""),
  };
  const cc = integerField(doc, "concurrent_collections");
  if (cc !== undefined) header.concurrentCollections = cc;
  return header;
}

/**
 * Decodes a prelude entry and checks that its metadata is Extended JSON (mongorestore would
 * otherwise fail late, after data was written). Throws IntegrityError naming the namespace.
 */
export function decodeMetadataDocument(buf: Uint8Array, offset: number): NamespaceMetadata {
  const what = "collection metadata";
  const doc = decode(buf, what, offset);
  const meta: NamespaceMetadata = {
    db: stringField(doc, "db", what, offset),
    collection: stringField(doc, "collection", what, offset),
    metadata: stringField(doc, "metadata", what, offset, ""),
    size: integerField(doc, "size") ?? 0,
  };
  if (typeof doc.type === "string") meta.type = doc.type;
  if (meta.collection === "") {
    throw new IntegrityError(`archive: ${what} at offset ${offset} has an empty collection name`);
  }
  if (meta.metadata !== "") {
    try {
      EJSON.parse(meta.metadata, { relaxed: false });
    } catch (err) {
      throw new IntegrityError(
        `archive: collection metadata of ${meta.db}.${meta.collection} is not valid Extended JSON: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return meta;
}

/** Decodes a namespace or EOF header. Throws IntegrityError naming the offset. */
export function decodeNamespaceHeader(buf: Uint8Array, offset: number): NamespaceHeader {
  const what = "namespace header";
  const doc = decode(buf, what, offset);
  const db = stringField(doc, "db", what, offset, "");
  const collection = stringField(doc, "collection", what, offset);
  if (collection === "") throw new IntegrityError(`archive: ${what} at offset ${offset} has an empty collection name`);
  const eof = doc.EOF === true;
  const raw = doc.CRC;
  let crc = 0n;
  if (typeof raw === "bigint") crc = raw;
  else if (typeof raw === "number" && Number.isInteger(raw)) crc = BigInt(raw);
  else if (raw !== undefined) throw new IntegrityError(`archive: ${what} of ${db}.${collection} at offset ${offset} has a non-integer CRC`);
  return { db, collection, eof, crc };
}
