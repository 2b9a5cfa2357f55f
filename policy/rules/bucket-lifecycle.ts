import { AWS_BUCKET, COMPLIANT, NOT_APPLICABLE, S3COMPAT_BUCKET, bucketSiblings, nonCompliant, type Rule } from "../rule.js";

interface LcRule {
  status?: string;
  expiration?: { days?: number };
  noncurrentVersionExpiration?: { noncurrentDays?: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation?: number };
}

/** Which of the three required lifecycle actions an enabled rule set lacks. */
export function missingLifecycle(rules: readonly LcRule[]): string[] {
  const on = rules.filter((x) => x.status === "Enabled");
  const missing: string[] = [];
  if (!on.some((x) => (x.expiration?.days ?? 0) >= 1)) missing.push("expiration of current versions");
  if (!on.some((x) => (x.noncurrentVersionExpiration?.noncurrentDays ?? 0) >= 1)) missing.push("noncurrent-version expiration");
  if (!on.some((x) => (x.abortIncompleteMultipartUpload?.daysAfterInitiation ?? 0) >= 1)) missing.push("abort of incomplete multipart uploads");
  return missing;
}

/** Backup buckets expire old backups and versions and abort abandoned uploads (bounded cost). */
export const bucketLifecycle: Rule = {
  name: "bucket-lifecycle-configured",
  description: "Backup buckets expire current and noncurrent versions and abort incomplete multipart uploads.",
  check(r, stack) {
    if (r.type === S3COMPAT_BUCKET) {
      const ok = Number(r.props.retentionDays) >= 1 && Number(r.props.noncurrentDays) >= 1;
      return ok ? COMPLIANT : nonCompliant(`bucket ${r.name} needs retentionDays and noncurrentDays ≥ 1`);
    }
    if (r.type !== AWS_BUCKET) return NOT_APPLICABLE;
    const lc = bucketSiblings(r, stack, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
    if (lc.length === 0) return nonCompliant(`bucket ${r.name} has no BucketLifecycleConfiguration`);
    const missing = missingLifecycle((lc[0]!.props.rules as LcRule[] | undefined) ?? []);
    return missing.length === 0 ? COMPLIANT : nonCompliant(`bucket ${r.name} lifecycle lacks ${missing.join(", ")}`);
  },
};
