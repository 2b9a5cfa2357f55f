/**
 * A small, pure reader for a stack's flat `config:` map. Each stack declares its keys once (kind,
 * default, whether required); `readConfig` checks every key, collects every problem, and throws one
 * `StackConfigError` naming each offending key — so a typo fails in the first second of
 * `pulumi up`, not at 3 a.m. during the backup. Nothing here touches the Pulumi runtime; the stack
 * adapter (stacks/read-config.ts) feeds it the values.
 */
import { ConfigError } from "../runtime/src/errors.js";

/** One problem found in a stack's config: the full key (`cloudsync:retentionDays`) and what is wrong. */
export interface ConfigIssue {
  readonly key: string;
  readonly message: string;
}

/**
 * Thrown by `readConfig` when any key is wrong. `field` is the first offending key; `issues`
 * lists all of them, and the message names each one with its fix.
 */
export class StackConfigError extends ConfigError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      issues[0]?.key ?? "config",
      issues.length === 1
        ? (issues[0]?.message ?? "invalid")
        : `${issues.length} problems\n${issues.map((i) => `  ${i.key}: ${i.message}`).join("\n")}`,
    );
  }
}

/** How one key is parsed. Defaults are applied before validation, so a default must itself be valid. */
export type KeySpec =
  | { readonly kind: "string"; readonly default?: string; readonly required?: boolean; readonly pattern?: RegExp; readonly hint?: string }
  | { readonly kind: "int"; readonly default?: number; readonly required?: boolean; readonly min: number; readonly max?: number }
  | { readonly kind: "bool"; readonly default?: boolean }
  | { readonly kind: "enum"; readonly values: readonly string[]; readonly default?: string; readonly required?: boolean }
  | { readonly kind: "cron"; readonly default?: string; readonly required?: boolean }
  | { readonly kind: "list"; readonly default?: readonly string[]; readonly required?: boolean; readonly item?: RegExp; readonly hint?: string }
  /**
   * A value set with `pulumi config set --secret`: presence, secretness and, when given, a shape
   * (`pattern`, described by `hint`) are checked; messages never include the value.
   */
  | { readonly kind: "secret"; readonly required?: boolean; readonly pattern?: RegExp; readonly hint?: string };

/** A stack's schema: key (without namespace) → spec. */
export type ConfigSchema = Readonly<Record<string, KeySpec>>;

/** The parsed value type for a spec. Secrets yield `true` when set: the value itself stays a Pulumi secret. */
type ValueOf<S extends KeySpec> = S extends { kind: "int" }
  ? number
  : S extends { kind: "bool" }
    ? boolean
    : S extends { kind: "list" }
      ? readonly string[]
      : S extends { kind: "secret" }
        ? boolean
        : string;

type IsPresent<S extends KeySpec> = S extends { default: unknown } ? true : S extends { required: true } ? true : S extends { kind: "bool" } ? true : false;

/** The frozen result of `readConfig`: keys with a default or `required` are always present. */
export type ConfigValues<T extends ConfigSchema> = {
  readonly [K in keyof T as IsPresent<T[K]> extends true ? K : never]: ValueOf<T[K]>;
} & {
  readonly [K in keyof T as IsPresent<T[K]> extends true ? never : K]?: ValueOf<T[K]>;
};

/** What the reader sees: plain values for every key set in the stack, and which of them are secret. */
export interface RawConfig {
  /** Every config value of the stack, keyed `namespace:key`. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys (`namespace:key`) stored as secrets. */
  readonly secretKeys: ReadonlySet<string>;
}

/**
 * Extra checks that span several keys. Issues name a schema key (without namespace) or, for
 * another namespace's key such as a provider's `aws:region`, the full `namespace:key`.
 */
export type CrossCheck<T extends ConfigSchema> = (values: ConfigValues<T>, raw: RawConfig) => readonly { key: (keyof T & string) | `${string}:${string}`; message: string }[];

/**
 * Parses and validates every key of `schema` in namespace `ns` from `raw`, plus every key of `raw`
 * in that namespace that the schema does not know (a typo). Throws `StackConfigError` listing all
 * problems; otherwise returns a frozen object. Pure: same input, same output.
 */
export function readConfig<T extends ConfigSchema>(ns: string, schema: T, raw: RawConfig, cross?: CrossCheck<T>): ConfigValues<T> {
  const issues: ConfigIssue[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const full = `${ns}:${key}`;
    const text = raw.values[full];
    const parsed = parseOne(spec, text, raw.secretKeys.has(full));
    if ("error" in parsed) issues.push({ key: full, message: parsed.error });
    else if (parsed.value !== undefined) out[key] = parsed.value;
  }
  for (const full of Object.keys(raw.values)) {
    if (!full.startsWith(`${ns}:`)) continue;
    const key = full.slice(ns.length + 1);
    if (!(key in schema)) {
      const near = Object.keys(schema).find((k) => k.toLowerCase() === key.toLowerCase());
      issues.push({ key: full, message: `unknown key for this stack${near ? `; did you mean ${ns}:${near}?` : ""} (remove it with \`pulumi config rm ${full}\`)` });
    }
  }
  if (issues.length === 0 && cross) {
    for (const i of cross(out as ConfigValues<T>, raw)) issues.push({ key: i.key.includes(":") ? i.key : `${ns}:${i.key}`, message: i.message });
  }
  if (issues.length > 0) throw new StackConfigError(issues);
  return Object.freeze(out) as ConfigValues<T>;
}

type Parsed = { value: unknown } | { error: string };

function parseOne(spec: KeySpec, text: string | undefined, isSecret: boolean): Parsed {
  const missing = text === undefined || text === "";
  if (spec.kind === "secret") {
    if (missing) return spec.required ? { error: "required secret is not set; set it with `pulumi config set --secret <key> <value>`" } : { value: false };
    if (!isSecret) return { error: "must be stored as a secret; run `pulumi config set --secret` for it (and rotate the value: it was in plain text)" };
    if (spec.pattern && !spec.pattern.test(text)) return { error: `the secret value is malformed${spec.hint ? `; expected ${spec.hint}` : ""} (value not shown)` };
    return { value: true };
  }
  if (missing) {
    if ("default" in spec && spec.default !== undefined) return { value: spec.default };
    if (spec.kind !== "bool" && spec.required) return { error: "required; set it with `pulumi config set <key> <value>`" };
    return spec.kind === "bool" ? { value: false } : { value: undefined };
  }
  switch (spec.kind) {
    case "string":
      if (spec.pattern && !spec.pattern.test(text)) return { error: `invalid value ${JSON.stringify(text)}${spec.hint ? `; expected ${spec.hint}` : ""}` };
      return { value: text };
    case "int": {
      if (!/^-?\d+$/.test(text.trim())) return { error: `must be a whole number, got ${JSON.stringify(text)}` };
      const n = Number(text.trim());
      if (n < spec.min) return { error: `must be ≥ ${spec.min}, got ${n}` };
      if (spec.max !== undefined && n > spec.max) return { error: `must be ≤ ${spec.max}, got ${n}` };
      return { value: n };
    }
    case "bool":
      if (text === "true") return { value: true };
      if (text === "false") return { value: false };
      return { error: `must be true or false, got ${JSON.stringify(text)}` };
    case "enum":
      if (!spec.values.includes(text)) return { error: `unknown value ${JSON.stringify(text)}; expected one of ${spec.values.join(", ")}` };
      return { value: text };
    case "cron": {
      const why = cronProblem(text);
      return why ? { error: `malformed cron expression ${JSON.stringify(text)}: ${why}` } : { value: text };
    }
    case "list": {
      const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const bad = spec.item ? items.filter((s) => !spec.item!.test(s)) : [];
      if (bad.length > 0) return { error: `invalid item(s) ${bad.map((b) => JSON.stringify(b)).join(", ")}${spec.hint ? `; expected ${spec.hint}` : ""}` };
      if (items.length === 0 && spec.required) return { error: "required; give a comma-separated list" };
      return { value: Object.freeze(items) };
    }
  }
}

const CRON_FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

/**
 * Checks a five-field cron expression (minute hour day-of-month month day-of-week; numbers, `*`,
 * ranges `a-b`, lists `a,b` and steps `/n`). Returns why it is malformed, or undefined when valid.
 * Names (`MON`, `JAN`) and `@daily` macros are refused on purpose: the daemon's parser is the
 * contract, and plain numbers are what every cron implementation agrees on.
 */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (let i = 0; i < 5; i++) {
    const f = CRON_FIELDS[i]!;
    for (const part of fields[i]!.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `${f.name} field ${JSON.stringify(part)} is not a number, range, list or step`;
      const lo = m[2] === undefined ? f.min : Number(m[2]);
      const hi = m[3] === undefined ? lo : Number(m[3]);
      if (m[2] !== undefined && (lo < f.min || hi > f.max || lo > hi)) return `${f.name} field ${JSON.stringify(part)} is outside ${f.min}-${f.max}`;
      if (m[4] !== undefined && Number(m[4]) < 1) return `${f.name} step must be ≥ 1`;
    }
  }
  return undefined;
}
