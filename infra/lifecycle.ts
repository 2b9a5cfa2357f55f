/**
 * Lifecycle rules of a backup bucket, as a pure builder. One shape feeds both the `@pulumi/aws`
 * BucketLifecycleConfiguration (AWS) and the S3 API call of the B2 dynamic provider, so both
 * providers get exactly the same rules.
 */

/** Inputs of `lifecycleRules`. */
export interface LifecycleOptions {
  /** Key prefix the backups live under (`backups/`); expiry applies only there. */
  readonly prefix: string;
  /** Days after which a current backup object is expired (becomes noncurrent behind a delete marker). ≥ 1. */
  readonly retentionDays: number;
  /** Days a noncurrent version is kept before it is removed for good. ≥ 1. */
  readonly noncurrentDays: number;
}

/** One lifecycle rule in `@pulumi/aws` input shape (camelCase). */
export interface LifecycleRule {
  readonly id: string;
  readonly status: "Enabled";
  readonly filter: { readonly prefix: string };
  readonly expiration?: { readonly days: number };
  readonly noncurrentVersionExpiration?: { readonly noncurrentDays: number };
  readonly abortIncompleteMultipartUpload?: { readonly daysAfterInitiation: number };
}

/** Incomplete multipart uploads (a killed backup) are aborted after this many days. */
export const ABORT_MULTIPART_DAYS = 1;

/**
 * The three rules every backup bucket carries, in this order: expire current objects under the
 * prefix after `retentionDays`; expire noncurrent versions after `noncurrentDays`; abort
 * incomplete multipart uploads anywhere in the bucket after one day (they are invisible, billed,
 * and never become a backup). No transitions: B2 has none, and archive tiers' minimum storage
 * durations would outlive short retentions. Throws `RangeError` on days < 1.
 */
export function lifecycleRules(o: LifecycleOptions): readonly LifecycleRule[] {
  for (const k of ["retentionDays", "noncurrentDays"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`lifecycle ${k}: must be a whole number ≥ 1, got ${o[k]}`);
  }
  return [
    { id: "expire-current-backups", status: "Enabled", filter: { prefix: o.prefix }, expiration: { days: o.retentionDays } },
    { id: "expire-noncurrent-versions", status: "Enabled", filter: { prefix: o.prefix }, noncurrentVersionExpiration: { noncurrentDays: o.noncurrentDays } },
    { id: "abort-incomplete-multipart", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_DAYS } },
  ];
}

/** The same rules in the S3 API's shape (`PutBucketLifecycleConfiguration` body, PascalCase). */
export interface S3ApiLifecycleRule {
  ID: string;
  Status: "Enabled";
  Filter: { Prefix: string };
  Expiration?: { Days: number };
  NoncurrentVersionExpiration?: { NoncurrentDays: number };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
}

/** Converts `lifecycleRules` output to the S3 API shape, keeping order and omitting absent actions. */
export function toS3ApiRules(rules: readonly LifecycleRule[]): S3ApiLifecycleRule[] {
  return rules.map((r) => ({
    ID: r.id,
    Status: r.status,
    Filter: { Prefix: r.filter.prefix },
    ...(r.expiration ? { Expiration: { Days: r.expiration.days } } : {}),
    ...(r.noncurrentVersionExpiration ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays } } : {}),
    ...(r.abortIncompleteMultipartUpload ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation } } : {}),
  }));
}

/** What a server's lifecycle rules say about the three rules `lifecycleRules` writes. */
export interface ObservedLifecycle {
  /** Prefix of `expire-current-backups` ("" when that rule is absent). */
  readonly prefix: string;
  /** Days of `expire-current-backups`; 0 when that rule is absent, disabled or has no days. */
  readonly retentionDays: number;
  /** Days of `expire-noncurrent-versions`; 0 when that rule is absent, disabled or has no days. */
  readonly noncurrentDays: number;
}

/**
 * Reads back the values `lifecycleRules` wrote from a GetBucketLifecycleConfiguration answer
 * (rules in any order; the prefix from `Filter.Prefix` or the legacy top-level `Prefix`). A
 * missing or disabled rule reads as 0 days, which no valid config has, so the difference shows.
 */
export function fromS3ApiRules(rules: readonly { ID?: string; Status?: string; Filter?: { Prefix?: string }; Prefix?: string; Expiration?: { Days?: number }; NoncurrentVersionExpiration?: { NoncurrentDays?: number } }[]): ObservedLifecycle {
  const enabled = (id: string) => rules.find((r) => r.ID === id && r.Status === "Enabled");
  const current = enabled("expire-current-backups");
  const noncurrent = enabled("expire-noncurrent-versions");
  return {
    prefix: current?.Filter?.Prefix ?? current?.Prefix ?? "",
    retentionDays: current?.Expiration?.Days ?? 0,
    noncurrentDays: noncurrent?.NoncurrentVersionExpiration?.NoncurrentDays ?? 0,
  };
}
