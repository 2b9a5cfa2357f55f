import { AWS_BUCKET, COMPLIANT, NOT_APPLICABLE, S3COMPAT_BUCKET, bucketSiblings, nonCompliant, type Rule } from "../rule.js";

/** Backup buckets keep every version: an overwrite or delete never loses a backup. */
export const bucketVersioning: Rule = {
  name: "bucket-versioning-enabled",
  description: "Backup buckets have versioning enabled.",
  check(r, stack) {
    // The S3-compatible provider enables versioning unconditionally on create and update.
    if (r.type === S3COMPAT_BUCKET) return COMPLIANT;
    if (r.type !== AWS_BUCKET) return NOT_APPLICABLE;
    const v = bucketSiblings(r, stack, "aws:s3/bucketVersioning:BucketVersioning");
    const status = (v[0]?.props.versioningConfiguration as { status?: unknown } | undefined)?.status;
    return status === "Enabled" ? COMPLIANT : nonCompliant(`bucket ${r.name} has no BucketVersioning with status Enabled`);
  },
};
