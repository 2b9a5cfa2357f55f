import { AWS_BUCKET, COMPLIANT, NOT_APPLICABLE, S3COMPAT_BUCKET, nonCompliant, type Rule } from "../rule.js";

const DATA_TYPES = new Set(["docker:index/volume:Volume", AWS_BUCKET, S3COMPAT_BUCKET]);

/**
 * Resources that hold data (Docker volumes, backup buckets) are `protect`ed, so no plan can
 * delete or replace them silently. (The components also set `retainOnDelete`, which CrossGuard
 * does not expose to policies.)
 */
export const dataProtected: Rule = {
  name: "data-volumes-protected",
  description: "Data volumes and backup buckets are protected against deletion and replacement.",
  check(r) {
    if (!DATA_TYPES.has(r.type)) return NOT_APPLICABLE;
    return r.protect ? COMPLIANT : nonCompliant(`${r.name} (${r.type}) holds data but is not protected`);
  },
};
