/**
 * Public metadata: the read-only API server (Fastify + SQLite), the signed push client, the sync
 * from MongoDB, and the schema that defines what is public. Deploy artefacts live in
 * `./deploy/index.js`. The server entry for hosts is `./serve-main.js` (not exported: it starts a
 * server when imported).
 */
export * from "./public-schema.js";
export { createMetadataServer, DEFAULT_READ_RATE_LIMIT, PUSH_PATH, type MetadataServer, type MetadataServerOptions } from "./server.js";
export { parseReadRateLimit, resolveServerOptions, serverOptionsFrom, type ServerFlags } from "./server-options.js";
export { pushMetadata, pushUrl, type PushOptions } from "./push-client.js";
export { syncMetadata, type SyncMetadataOptions, type SyncResult } from "./sync.js";
export type { MongoSourceOptions } from "./mongo-source.js";
export { checkSignatureHeaders, computeSignature, signRequest, verifyBody, verifySignature, newIdempotencyKey, SIGNATURE_HEADERS, SIGNATURE_TOLERANCE_SECONDS, type SignedParts, type SignatureFailure, type SignatureHeaders } from "./signature.js";
export { checkPublicModel } from "./validate.js";
