/**
 * Namespace patterns and renames, as mongodump's `--nsInclude`/`--nsExclude` and mongorestore's
 * `--nsFrom`/`--nsTo`: a pattern is `<db>.<collection>` where `*` matches any run of characters
 * (dots included) and `\` escapes the next character.
 */
import { ConfigError } from "../errors.js";

/** A compiled namespace filter. */
export interface NamespaceFilter {
  /** True when `ns` (`db.coll`) is included and not excluded. */
  matches(ns: string): boolean;
  /**
   * The exact namespaces named by the include patterns when every include pattern is a literal
   * `db.coll` (no `*`), minus excluded ones; undefined otherwise. A dump can then skip discovery
   * (listDatabases/listCollections for names) and read exactly those collections.
   */
  readonly exact: readonly string[] | undefined;
}

interface Compiled {
  readonly regex: RegExp;
  readonly literal: string | undefined;
}

function compile(pattern: string, field: string): Compiled {
  if (!pattern.includes(".") || pattern.startsWith(".")) {
    throw new ConfigError(field, `"${pattern}" is not a namespace pattern; use <db>.<collection>, e.g. shop.orders or shop.* for a whole database`);
  }
  let re = "";
  let literal = "";
  let wild = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === "\\" && i + 1 < pattern.length) {
      const next = pattern[++i] as string;
      re += escapeRegex(next);
      literal += next;
    } else if (ch === "*") {
      re += ".*";
      wild = true;
    } else {
      re += escapeRegex(ch);
      literal += ch;
    }
  }
  return { regex: new RegExp(`^${re}$`, "s"), literal: wild ? undefined : literal };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * Compiles include/exclude patterns. No include patterns means everything is included. Throws
 * ConfigError naming `include`/`exclude` for a pattern without a `db.` part.
 */
export function createNamespaceFilter(include: readonly string[] = [], exclude: readonly string[] = []): NamespaceFilter {
  const inc = include.map((p) => compile(p, "include"));
  const exc = exclude.map((p) => compile(p, "exclude"));
  const matches = (ns: string): boolean => (inc.length === 0 || inc.some((c) => c.regex.test(ns))) && !exc.some((c) => c.regex.test(ns));
  const allLiteral = inc.length > 0 && inc.every((c) => c.literal !== undefined);
  const exact = allLiteral ? [...new Set(inc.map((c) => c.literal as string))].filter(matches) : undefined;
  return { matches, exact };
}

/** Splits `db.coll` at the first dot (database names cannot contain dots; collection names can). */
export function splitNamespace(ns: string): { db: string; collection: string } {
  const i = ns.indexOf(".");
  if (i <= 0 || i === ns.length - 1) throw new ConfigError("namespace", `"${ns}" is not a namespace; use <db>.<collection>`);
  return { db: ns.slice(0, i), collection: ns.slice(i + 1) };
}

/** One rename rule as given on the command line (`--rename from:to`). */
export interface RenameRule {
  readonly from: string;
  readonly to: string;
}

/**
 * Compiles rename rules into a function from a source namespace to its target. Each `*` in `from`
 * captures a run of characters that replaces the `*` at the same position in `to`, so
 * `shop.*` → `drill_shop.*` renames a whole database. The first matching rule wins; unmatched
 * namespaces keep their name. Throws ConfigError (field `rename`) when `from` and `to` have a
 * different number of `*` or `to` is not a namespace.
 */
export function createRenamer(rules: readonly RenameRule[] = []): (ns: string) => string {
  const compiled = rules.map((r) => {
    const from = compile(r.from, "rename");
    const stars = (s: string) => s.replace(/\\./g, "").split("*").length - 1;
    if (stars(r.from) !== stars(r.to)) {
      throw new ConfigError("rename", `"${r.from}:${r.to}" has ${stars(r.from)} wildcard(s) on the left and ${stars(r.to)} on the right; they must match`);
    }
    compile(r.to, "rename");
    // Lazy captures: in `*.*` the first star stops at the first dot, since database names
    // cannot contain dots while collection names can.
    const captures = new RegExp(from.regex.source.replace(/\.\*/g, "(.*?)"), "s");
    return { captures, to: r.to };
  });
  return (ns) => {
    for (const rule of compiled) {
      const m = rule.captures.exec(ns);
      if (!m) continue;
      let k = 1;
      let out = "";
      for (let i = 0; i < rule.to.length; i++) {
        const ch = rule.to[i] as string;
        if (ch === "\\" && i + 1 < rule.to.length) out += rule.to[++i];
        else if (ch === "*") out += m[k++] ?? "";
        else out += ch;
      }
      return out;
    }
    return ns;
  };
}

/**
 * Parses `from:to` as given to `--rename`. Throws ConfigError (field `rename`) when the colon is
 * missing or either side is empty.
 */
export function parseRename(text: string): RenameRule {
  const i = text.indexOf(":");
  if (i <= 0 || i === text.length - 1) throw new ConfigError("rename", `"${text}" must be <from-namespace>:<to-namespace>, e.g. shop.*:drill_shop.*`);
  return { from: text.slice(0, i), to: text.slice(i + 1) };
}
