// The MongoDB side of cloudsync: live dump source, restore sink, restore drill and comparison.
export { createMongoDumpSource, type DumpProgress, type MongoDumpOptions, type MongoDumpSource } from "./dump.js";
export { restoreToMongo, type RestoreOptions, type RestoreProgress, type RestoreReport, type RestoredNamespace } from "./restore.js";
export { runRestoreDrill, type DrillNamespace, type DrillOptions, type DrillReport } from "./drill.js";
export {
  canonicalJson,
  compareDescriptions,
  createDocumentDigest,
  describeDatabase,
  normalizeIndexSpec,
  type CollectionDescription,
  type DescriptionDifference,
  type DocumentDigest,
} from "./compare.js";
export type { ClusterTime, ConsistencyMode, ConsistencyReport, Topology } from "./consistency.js";
export { createNamespaceFilter, createRenamer, parseRename, splitNamespace, type NamespaceFilter, type RenameRule } from "./namespaces.js";
