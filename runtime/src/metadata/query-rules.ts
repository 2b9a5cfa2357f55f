import { MODEL_SORTS } from "./store.js";

/** What one query parameter admits: the pattern or values it must match, or its longest text. */
export interface ParamRule {
  readonly maxLength?: number;
  readonly values?: readonly string[];
  readonly pattern?: RegExp;
}

/**
 * The allow-list of a route's query parameters. A Map, not an object literal: a lookup of
 * `constructor`, `__proto__` or `toString` finds nothing instead of `Object.prototype`'s
 * members (issue 9, item 22).
 */
export type QueryRules = ReadonlyMap<string, ParamRule>;

/** Routes that take no query parameters at all. */
export const NO_QUERY: QueryRules = new Map();

/** `GET /api/models`. */
export const MODEL_LIST_QUERY: QueryRules = new Map<string, ParamRule>([
  ["limit", { pattern: /^[0-9]{1,6}$/ }],
  ["sort", { values: MODEL_SORTS }],
  ["order", { values: ["asc", "desc"] }],
  ["name", { maxLength: 200 }],
  ["q", { maxLength: 200 }],
  ["license", { maxLength: 100 }],
  ["source", { maxLength: 253 }],
  ["cursor", { maxLength: 700 }],
]);

/** The inventory page `/`: its form's fields (search, licence, sort, order) and the next-page cursor. */
export const PAGE_QUERY: QueryRules = new Map(["q", "license", "sort", "order", "cursor"].map((k) => [k, MODEL_LIST_QUERY.get(k) as ParamRule]));

/** A query parameter that failed its rule: `field` is the parameter, `message` what is wrong. */
export interface QueryProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Checks a parsed query against `rules`: every name must be allowed, given once, and match its
 * rule. Returns the first problem, or undefined when the whole query is acceptable. Pure.
 */
export function checkQuery(query: Readonly<Record<string, unknown>>, rules: QueryRules): QueryProblem | undefined {
  for (const key of Object.keys(query)) {
    const value = query[key];
    const rule = rules.get(key);
    let problem: string | undefined;
    if (rule === undefined) problem = "unknown parameter";
    else if (typeof value !== "string") problem = "must be given once, as a string";
    else if (rule.maxLength !== undefined && value.length > rule.maxLength) problem = `must NOT have more than ${rule.maxLength} characters`;
    else if (rule.pattern && !rule.pattern.test(value)) problem = `must match pattern "${rule.pattern.source}"`;
    else if (rule.values && !rule.values.includes(value)) problem = `must be one of ${rule.values.join(", ")}`;
    if (problem !== undefined) return { field: key, message: `querystring ${key}: ${problem}` };
  }
  return undefined;
}
