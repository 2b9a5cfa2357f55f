import { COMPLIANT, NOT_APPLICABLE, nonCompliant, type Rule } from "../rule.js";

/** Container label by which MongoNode records an explicit decision to bind beyond loopback. */
export const ALLOW_PUBLIC_LABEL = "cloudsync.allow-public";

const isMongo = (props: Readonly<Record<string, unknown>>): boolean =>
  (typeof props.image === "string" && /(^|\/)mongo(:|@|$)/.test(props.image)) || (Array.isArray(props.command) && props.command[0] === "mongod");
const loopback = (ip: unknown): boolean => typeof ip === "string" && (ip.startsWith("127.") || ip === "::1");

/** MongoDB containers publish ports on loopback only, unless labelled as explicitly allowed. */
export const mongoNotPublic: Rule = {
  name: "mongo-not-public",
  description: "MongoDB containers are not bound to 0.0.0.0 unless explicitly allowed.",
  check(r) {
    if (r.type !== "docker:index/container:Container" || !isMongo(r.props)) return NOT_APPLICABLE;
    const labels = (r.props.labels as { label?: string; value?: string }[] | undefined) ?? [];
    if (labels.some((l) => l.label === ALLOW_PUBLIC_LABEL && l.value === "true")) return COMPLIANT;
    if (r.props.publishAllPorts === true) return nonCompliant(`${r.name} publishes all ports`);
    const open = ((r.props.ports as { ip?: string; external?: number }[] | undefined) ?? []).filter((p) => !loopback(p.ip));
    return open.length === 0 ? COMPLIANT : nonCompliant(`${r.name} binds MongoDB to ${open.map((p) => p.ip ?? "0.0.0.0").join(", ")}; bind 127.0.0.1 or allow it explicitly`);
  },
};
