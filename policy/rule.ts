/**
 * The shape every policy rule shares: a pure function over one resource (and, for rules that
 * need a sibling such as a bucket's versioning resource, the whole stack) returning compliant,
 * non-compliant with a reason, or not applicable. policy/pack.ts wires them into CrossGuard.
 */

/** A resource as rules see it: type, name, URN, properties (inputs), and the options policies expose. */
export interface ResourceView {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Readonly<Record<string, unknown>>;
  /** `protect` (CrossGuard exposes it; it does not expose `retainOnDelete`). */
  readonly protect: boolean;
  /** Parent URN, when any. */
  readonly parent?: string;
}

/** A rule's verdict on one resource. */
export type RuleResult = { readonly status: "compliant" } | { readonly status: "non-compliant"; readonly reason: string } | { readonly status: "not-applicable" };

/** One policy rule. `check` must be pure and must not throw on unexpected shapes (report instead). */
export interface Rule {
  /** kebab-case policy name shown by `pulumi preview --policy-pack`. */
  readonly name: string;
  readonly description: string;
  check(resource: ResourceView, stack: readonly ResourceView[]): RuleResult;
}

/** The compliant verdict. */
export const COMPLIANT: RuleResult = Object.freeze({ status: "compliant" });
/** The verdict for a resource the rule does not govern. */
export const NOT_APPLICABLE: RuleResult = Object.freeze({ status: "not-applicable" });
/** A non-compliant verdict with the reason shown to the user. */
export const nonCompliant = (reason: string): RuleResult => ({ status: "non-compliant", reason });

/** Type token of an AWS S3 bucket (`@pulumi/aws` v7). */
export const AWS_BUCKET = "aws:s3/bucket:Bucket";
/** Type token of the S3-compatible (B2) dynamic bucket from infra/s3-compat-bucket.ts. */
export const S3COMPAT_BUCKET = "pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket";

/**
 * The sibling resources of `type` configuring `bucket`: those whose `bucket` property is the
 * bucket's name, or — during a preview, when that id is not known yet — those under the same
 * parent component.
 */
export function bucketSiblings(bucket: ResourceView, stack: readonly ResourceView[], type: string): ResourceView[] {
  const name = bucket.props.bucket;
  return stack.filter((r) => r.type === type && (r.props.bucket === undefined ? r.parent !== undefined && r.parent === bucket.parent : r.props.bucket === name));
}
