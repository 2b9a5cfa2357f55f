/** The mongodump archive format: reading, verifying, writing, and the dump-directory layout. */
export * from "./types.js";
export { createCrc64, crc64, crcToInt64, type Crc64 } from "./crc64.js";
export {
  FORMAT_VERSION,
  MAX_DOCUMENT_SIZE,
  encodeHeaderDocument,
  encodeMetadataDocument,
  encodeNamespaceHeader,
} from "./format.js";
export { readArchive, summarizeArchive, type ReadArchiveOptions } from "./reader.js";
export { createArchiveVerifier, type ArchiveVerifier } from "./verifier.js";
export { writeArchive, type WriteArchiveOptions } from "./writer.js";
export {
  writeDumpDirectory,
  readDumpDirectory,
  splitBsonStream,
  escapeCollectionName,
  unescapeCollectionName,
  dumpPaths,
  type ReadDumpDirectoryOptions,
} from "./dump-dir.js";
