import type { Config } from "../config/config.js";
import type { Destination } from "./destination.js";
import { openDestination, type DestinationWrappers } from "./open.js";

/**
 * Opens the destination `spec` (default: the configured `destination`) with the S3, Azure and GCS
 * settings of `config`, wrapped in `wrappers` (see `openDestination`). Creates no client and
 * connects to nothing until the first call; throws ConfigError for a spec `openDestination` does
 * not accept.
 */
export function destinationOf(config: Config, spec: string = config.destination, wrappers: DestinationWrappers = {}): Destination {
  return openDestination(spec, {
    endpoint: config.s3.endpoint,
    region: config.s3.region,
    accessKeyId: config.s3.accessKeyId,
    secretAccessKey: config.s3.secretAccessKey,
    forcePathStyle: config.s3.forcePathStyle,
  }, { azure: config.azure, gcs: config.gcs }, wrappers);
}
