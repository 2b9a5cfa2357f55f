/**
 * The programmatic API of cloudsync (the package's main entry). The CLI is a thin layer over these
 * same functions; everything here validates its input as the CLI does and throws the typed errors
 * of `./errors.js`.
 *
 * Start with `createCloudSync` (the seed's `CloudSyncService` shape: isEnabled / syncMetadata /
 * uploadBackup); the lower layers are exported for programs that need more control.
 */
export { createCloudSync, type CloudSync, type CloudSyncOptions, type SyncConfig, type UploadedBackup } from "./api.js";

export * from "./errors.js";
export { Secret, redactUri, redactText } from "./secret.js";
export { loadConfig, DEFAULTS, ENVIRONMENT, type Config, type RawConfig, type LoadOptions } from "./config/config.js";
export { VERSION } from "./version.js";

export * as archive from "./archive/index.js";
export * as crypto from "./crypto/index.js";
export * as destinations from "./destinations/index.js";
export { openDestination, type Destination, type ObjectInfo, type PutResult } from "./destinations/index.js";

export { runBackupPipeline, type BackupPipelineOptions, type BackupResult } from "./pipeline/backup.js";
export { backupFromMongo, type MongoBackupOptions, type MongoBackupResult } from "./pipeline/mongo-backup.js";
export { planEncryption, loadDecryptionKeys, type EncryptionPlan, type DecryptionKeys } from "./pipeline/encryption.js";
export { openBackup, restoreToDirectory, compareWithManifest, type OpenedBackup, type NamespaceCheck } from "./pipeline/restore.js";
export { verifyBackup, verifyChecksum, type VerifyResult } from "./pipeline/verify.js";
export { decodeArtifact } from "./pipeline/decode.js";
export { fetchVerified } from "./pipeline/fetch.js";

export { listBackups, findBackup, writeVerification, latestVerifications, countsAsVerified, type BackupEntry, type VerificationRecord, type VerificationState, type VerificationLevel } from "./manifest/store.js";
export { newestFirst, compareNewestFirst, type BackupTime } from "./manifest/order.js";
export { type BackupManifest } from "./manifest/manifest.js";
export { deleteBackup, findOrphans } from "./manifest/deletion.js";

export * as mongo from "./mongo/index.js";
export * as retention from "./retention/index.js";
export * as seed from "./seed/index.js";
export * as schema from "./schema/index.js";
export * as metadata from "./metadata/index.js";
export type { PublicModel } from "./metadata/public-schema.js";
export type { SyncResult } from "./metadata/sync.js";
