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

/**
 * A CrossGuard resource as a `ResourceView`, with `props` copied into plain values and every value
 * unknown at preview (an output of a resource not created yet, such as a bucket's id) left out.
 * CrossGuard hands rules a proxy that throws on reading an unknown value, and a throw anywhere in
 * a stack policy turns the whole policy into an advisory "can't run during preview" note: the
 * mandatory checks would then never run in a preview.
 */
export function viewOf(r: PolicyResource): ResourceView {
  return { type: r.type, name: r.name, urn: r.urn, props: knownValues(r.props) as Record<string, unknown>, protect: r.opts.protect, ...(r.parent ? { parent: r.parent.urn } : {}) };
}

/** A plain copy of `v` without the values whose reading throws (CrossGuard's unknowns). */
function knownValues(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  const read = (k: string | number): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: knownValues((v as Record<string | number, unknown>)[k]) };
    } catch {
      return { ok: false };
    }
  };
  if (Array.isArray(v)) {
    const items: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      const x = read(i);
      items.push(x.ok ? x.value : undefined);
    }
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = read(k);
    if (x.ok) out[k] = x.value;
  }
  return out;
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
