/** `cloudsync migrate`: copy one server's collections to another through the archive pipeline, then prove the copy. */
export { copyDatabase, planCopy, type CopyOptions, type CopyPlan, type CopyReport, type PlannedNamespace } from "./copy.js";
export { compareMigration, verifyMigration, type MigrationVerification, type VerifiedCollection } from "./verify.js";
