import { COMPLIANT, NOT_APPLICABLE, nonCompliant, type Rule } from "../rule.js";

const POLICY_TYPES = new Set(["aws:iam/userPolicy:UserPolicy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"]);

/** Actions that must be explicitly denied to anything that can write backups. */
export const MUST_DENY = ["s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:BypassGovernanceRetention"] as const;

interface Statement {
  Effect?: string;
  Action?: string | string[];
}

const asList = (a: string | string[] | undefined): string[] => (a === undefined ? [] : Array.isArray(a) ? a : [a]);
/** IAM action matching with `*` and `?` wildcards, case-insensitive as IAM is. */
const matches = (pattern: string, action: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(action);

/**
 * IAM policies that grant S3 writes must explicitly Deny every action in `MUST_DENY` and must not
 * Allow any of them (an Allow of `s3:*` or `*` counts). Policies without S3 writes are not applicable.
 */
export const runtimeCredentials: Rule = {
  name: "runtime-credentials-cannot-destroy-history",
  description: "Credentials that write backups cannot delete versions, change lifecycle or versioning, or bypass retention.",
  check(r) {
    if (!POLICY_TYPES.has(r.type)) return NOT_APPLICABLE;
    let doc: { Statement?: Statement | Statement[] };
    try {
      doc = typeof r.props.policy === "string" ? JSON.parse(r.props.policy) : ((r.props.policy ?? {}) as typeof doc);
    } catch {
      return nonCompliant(`${r.name}: policy is not valid JSON`);
    }
    const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
    const allows = statements.filter((s) => s.Effect === "Allow").flatMap((s) => asList(s.Action));
    const denies = statements.filter((s) => s.Effect === "Deny").flatMap((s) => asList(s.Action));
    if (!allows.some((a) => matches(a, "s3:PutObject"))) return NOT_APPLICABLE;
    const allowed = MUST_DENY.filter((d) => allows.some((a) => matches(a, d)));
    if (allowed.length > 0) return nonCompliant(`${r.name} allows ${allowed.join(", ")}`);
    const undenied = MUST_DENY.filter((d) => !denies.some((a) => matches(a, d)));
    return undenied.length === 0 ? COMPLIANT : nonCompliant(`${r.name} does not explicitly deny ${undenied.join(", ")}`);
  },
};
