import { AWS_BUCKET, COMPLIANT, NOT_APPLICABLE, S3COMPAT_BUCKET, bucketSiblings, nonCompliant, type Rule } from "../rule.js";

/** Defence in depth: backups are already age-encrypted, and the bucket encrypts at rest too. */
export const bucketEncryption: Rule = {
  name: "bucket-encryption-enabled",
  description: "Backup buckets have default server-side encryption.",
  check(r, stack) {
    if (r.type === S3COMPAT_BUCKET) return r.props.encryption === "AES256" ? COMPLIANT : nonCompliant(`bucket ${r.name} has encryption ${JSON.stringify(r.props.encryption)}, not AES256`);
    if (r.type !== AWS_BUCKET) return NOT_APPLICABLE;
    const sse = bucketSiblings(r, stack, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    const algos = ((sse[0]?.props.rules as { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } }[] | undefined) ?? []).map((x) => x.applyServerSideEncryptionByDefault?.sseAlgorithm);
    return algos.some((a) => a === "AES256" || a === "aws:kms" || a === "aws:kms:dsse") ? COMPLIANT : nonCompliant(`bucket ${r.name} has no default server-side encryption`);
  },
};
