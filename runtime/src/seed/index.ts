/** Seed sets (issue 6 §1): canonical Extended JSON per collection with checksums. */
export { exportSeed, type SeedExportOptions, type SeedExportReport } from "./export.js";
export { importSeed, type SeedImportOptions, type SeedImportReport, type SeedImportedCollection } from "./import.js";
export { verifySeedSet, sha256File } from "./verify.js";
export { CHECKSUM_FILE, INDEX_FILE, escapeName, pathsFor, type SeedCollection, type SeedIndex } from "./layout.js";
export { compareBsonValues } from "./order.js";
export { toCanonicalLine, fromCanonicalLine } from "./canonical.js";
export { pushSeedSet, pullSeedSet, listSeedSets, suffixFor, SEED_PREFIX, type SeedPushResult } from "./store.js";
