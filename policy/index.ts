/**
 * The cloudsync policy pack (CrossGuard). Run with
 * `npm run build && pulumi preview -s <stack> --policy-pack policy` (PulumiPolicy.yaml points at
 * the compiled dist/policy/index.js).
 */
import { PolicyPack } from "@pulumi/policy";
import { RULES, toPolicies } from "./pack.js";

new PolicyPack("cloudsync", { policies: toPolicies(RULES), enforcementLevel: "mandatory" });
