import { COMPLIANT, NOT_APPLICABLE, nonCompliant, type Rule } from "../rule.js";

/** Env var names that hold secrets; `<NAME>_FILE` (a path) is fine. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?|MONGODB_URI|_URI)$/i;
/** A URL carrying a password (`scheme://user:pass@host`). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;
/** Command-line password flags (`--password x`, `--password=x`, `-p x`). */
const PASSWORD_FLAG = /(^|\s)(--password|--pass|--secret|-p)(=|\s|$)/;

function findings(envs: readonly string[], args: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of envs) {
    const name = e.split("=", 1)[0] ?? "";
    const value = e.slice(name.length + 1);
    if (SECRET_NAME.test(name) && !name.endsWith("_FILE")) out.push(`env ${name}`);
    else if (URL_WITH_PASSWORD.test(value)) out.push(`env ${name} (URL with password)`);
  }
  args.forEach((a, i) => {
    if (URL_WITH_PASSWORD.test(a)) out.push(`argument ${i} (URL with password)`);
    else if (PASSWORD_FLAG.test(a)) out.push(`argument ${i} (password flag)`);
  });
  return out;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : []);

/**
 * No secret in a container's env, command or entrypoint, nor in a command resource's command
 * lines (those are visible in `docker inspect`, process lists and Pulumi's plain inputs). Secrets
 * go in uploaded files or stdin instead.
 */
export const noPlaintextSecrets: Rule = {
  name: "no-plaintext-secrets",
  description: "No secrets in container environment, container arguments or command lines.",
  check(r) {
    let found: string[];
    if (r.type === "docker:index/container:Container") {
      found = findings(strings(r.props.envs), [...strings(r.props.command), ...strings(r.props.entrypoints)]);
    } else if (r.type === "command:remote:Command" || r.type === "command:local:Command") {
      found = findings(
        Object.entries((r.props.environment as Record<string, string> | undefined) ?? {}).map(([k, v]) => `${k}=${v}`),
        [...strings(r.props.create), ...strings(r.props.update), ...strings(r.props.delete)],
      );
    } else return NOT_APPLICABLE;
    return found.length === 0 ? COMPLIANT : nonCompliant(`${r.name} has plaintext secrets in ${found.join(", ")}`);
  },
};
