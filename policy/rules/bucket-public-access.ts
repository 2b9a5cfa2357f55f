import { AWS_BUCKET, COMPLIANT, NOT_APPLICABLE, S3COMPAT_BUCKET, bucketSiblings, nonCompliant, type Rule } from "../rule.js";

const FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** Backup buckets are never public: all four public-access-block flags on, no public ACL. */
export const bucketPublicAccess: Rule = {
  name: "bucket-public-access-blocked",
  description: "Backup buckets block all public access.",
  check(r, stack) {
    const acl = r.props.acl;
    if ((r.type === AWS_BUCKET || r.type === S3COMPAT_BUCKET) && typeof acl === "string" && acl.startsWith("public")) return nonCompliant(`bucket ${r.name} has ACL ${acl}`);
    // B2 has no PublicAccessBlock API; the provider creates buckets private (allPrivate).
    if (r.type === S3COMPAT_BUCKET) return COMPLIANT;
    if (r.type !== AWS_BUCKET) return NOT_APPLICABLE;
    const pab = bucketSiblings(r, stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0];
    if (!pab) return nonCompliant(`bucket ${r.name} has no BucketPublicAccessBlock`);
    const off = FLAGS.filter((f) => pab.props[f] !== true);
    return off.length === 0 ? COMPLIANT : nonCompliant(`bucket ${r.name} public access block has ${off.join(", ")} off`);
  },
};
