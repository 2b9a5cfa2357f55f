// The destinations seam: one interface, a local directory and an S3-compatible implementation,
// and the spec parser the CLI uses to pick one.
export type { Destination, ObjectInfo, PutOptions, PutResult } from "./destination.js";
export { createLocalDestination } from "./local.js";
export { createS3Destination, type S3DestinationOptions } from "./s3.js";
export { openDestination, type DestinationWrappers } from "./open.js";
export { validateKey, validatePrefix, compareKeys } from "./keys.js";
export { basePartSize, partSizeAt, maxUploadSize, MIN_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, DEFAULT_PART_SIZE } from "./part-size.js";
export { withRetry, backoffDelay, DEFAULT_RETRY, RetriesExhausted, type RetryPolicy } from "./retry.js";
export { withLogging, withProgress } from "./wrappers.js";
