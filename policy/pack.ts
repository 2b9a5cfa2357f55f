/**
 * The rules of the cloudsync policy pack, and their conversion into CrossGuard policies. Kept
 * apart from index.ts because constructing a `PolicyPack` starts the policy gRPC server.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import type { Rule, ResourceView } from "./rule.js";
import { bucketEncryption } from "./rules/bucket-encryption.js";
import { bucketLifecycle } from "./rules/bucket-lifecycle.js";
import { bucketPublicAccess } from "./rules/bucket-public-access.js";
import { bucketVersioning } from "./rules/bucket-versioning.js";
import { dataProtected } from "./rules/data-protected.js";
import { mongoNotPublic } from "./rules/mongo-not-public.js";
import { noPlaintextSecrets } from "./rules/no-plaintext-secrets.js";
import { runtimeCredentials } from "./rules/runtime-credentials.js";

/** Every rule, in report order. */
export const RULES: readonly Rule[] = [
  bucketVersioning,
  bucketLifecycle,
  bucketEncryption,
  bucketPublicAccess,
  runtimeCredentials,
  mongoNotPublic,
  noPlaintextSecrets,
  dataProtected,
];

/** A CrossGuard resource as a `ResourceView`. */
export function viewOf(r: PolicyResource): ResourceView {
  return { type: r.type, name: r.name, urn: r.urn, props: r.props, protect: r.opts.protect, ...(r.parent ? { parent: r.parent.urn } : {}) };
}

/** Each rule as a mandatory stack policy reporting one violation per non-compliant resource. */
export function toPolicies(rules: readonly Rule[]): StackValidationPolicy[] {
  return rules.map((rule) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
      const views = args.resources.map(viewOf);
      for (const v of views) {
        const result = rule.check(v, views);
        if (result.status === "non-compliant") report(result.reason, v.urn);
      }
    },
  }));
}
