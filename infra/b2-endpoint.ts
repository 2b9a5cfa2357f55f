/**
 * The S3 endpoints the `backblaze` provider accepts, and how each is spoken to. Pure: shared by
 * the stack's config schema (stacks/schemas.ts), the bucket component and the agent's target.
 */

/** A Backblaze B2 S3 endpoint; group 1 is its region (`https://s3.us-west-004.backblazeb2.com`). */
export const B2_ENDPOINT = /^https:\/\/s3\.([a-z0-9-]+)\.backblazeb2\.com$/;

/**
 * A local S3-compatible server for testing (Ceph RGW, MinIO): http or https on a loopback host
 * (127.0.0.1, [::1] or localhost), an optional port, nothing after it.
 */
export const LOOPBACK_ENDPOINT = /^https?:\/\/(127\.0\.0\.1|\[::1\]|localhost)(:\d{1,5})?$/;

/** A region name as S3 signs it (`us-west-004`, `us-east-1`). */
export const REGION = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$/;

/** The region signed for when a loopback endpoint is given without `cloudsync:b2Region`. */
export const LOOPBACK_DEFAULT_REGION = "us-east-1";

/** How the bucket's S3 client talks to an endpoint. */
export interface B2EndpointSettings {
  /** The signing region. */
  readonly region: string;
  /** Path-style URLs: a loopback server has no per-bucket host names. */
  readonly forcePathStyle: boolean;
}

/**
 * Region and URL style for `endpoint`. A B2 endpoint signs for the region in its host name,
 * virtual-host style; `region`, when given, must be that same region. A loopback endpoint signs
 * for `region`, or us-east-1 when absent, path style. Throws `Error` naming the endpoint for
 * anything else, and for a region that contradicts a B2 endpoint.
 */
export function b2EndpointSettings(endpoint: string, region?: string): B2EndpointSettings {
  const b2 = B2_ENDPOINT.exec(endpoint);
  if (b2) {
    if (region !== undefined && region !== b2[1]) throw new Error(`b2 endpoint ${endpoint} signs for region ${b2[1]}, not ${JSON.stringify(region)}; remove cloudsync:b2Region or set it to ${b2[1]}`);
    return { region: b2[1]!, forcePathStyle: false };
  }
  if (LOOPBACK_ENDPOINT.test(endpoint)) return { region: region ?? LOOPBACK_DEFAULT_REGION, forcePathStyle: true };
  throw new Error(`b2 endpoint: expected https://s3.<region>.backblazeb2.com, or http(s)://127.0.0.1, [::1] or localhost with an optional port for a local S3-compatible server for testing; got ${JSON.stringify(endpoint)}`);
}
