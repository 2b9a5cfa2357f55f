import { PUBLIC_FORMATS, publicModelSchema, type PublicModel } from "./public-schema.js";

type FieldSchema = {
  type?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  format?: string;
  items?: FieldSchema;
};

const compiled = Object.entries(publicModelSchema.properties as Record<string, FieldSchema>).map(([name, schema]) => ({ name, schema, re: schema.pattern ? new RegExp(schema.pattern) : undefined, itemRe: schema.items?.pattern ? new RegExp(schema.items.pattern) : undefined }));

/**
 * Checks a projected model against `publicModelSchema` on the client, so one bad document at
 * home is reported and skipped instead of failing every push (the server checks again with the
 * same schema). Returns undefined when valid, else `<field>: <problem>` for the first problem.
 * Covers exactly the keywords the public schema uses.
 */
export function checkPublicModel(m: PublicModel): string | undefined {
  const doc = m as unknown as Record<string, unknown>;
  for (const field of publicModelSchema.required) if (doc[field] === undefined) return `${field}: is required`;
  for (const key of Object.keys(doc)) if (!(key in publicModelSchema.properties)) return `${key}: is not a public field`;
  for (const { name, schema, re, itemRe } of compiled) {
    const v = doc[name];
    if (v === undefined) continue;
    const problem = checkValue(v, schema, re);
    if (problem) return `${name}: ${problem}`;
    if (schema.type === "array" && schema.items) {
      for (const [i, item] of (v as unknown[]).entries()) {
        const p = checkValue(item, schema.items, itemRe);
        if (p) return `${name}[${i}]: ${p}`;
      }
    }
  }
  return undefined;
}

function checkValue(v: unknown, s: FieldSchema, re: RegExp | undefined): string | undefined {
  if (s.type === "string") {
    if (typeof v !== "string") return "must be a string";
    if (s.minLength !== undefined && v.length < s.minLength) return `must have at least ${s.minLength} characters`;
    if (s.maxLength !== undefined && v.length > s.maxLength) return `must have at most ${s.maxLength} characters`;
    if (re && !re.test(v)) return `must match ${s.pattern}`;
    if (s.format === "uri" && !PUBLIC_FORMATS.uri(v)) return "must be an http(s) URL";
    if (s.format === "date-time" && !PUBLIC_FORMATS["date-time"](v)) return "must be an RFC 3339 date-time";
  } else if (s.type === "integer") {
    if (typeof v !== "number" || !Number.isInteger(v)) return "must be an integer";
    if (s.minimum !== undefined && v < s.minimum) return `must be ≥ ${s.minimum}`;
    if (s.maximum !== undefined && v > s.maximum) return `must be ≤ ${s.maximum}`;
  } else if (s.type === "array") {
    if (!Array.isArray(v)) return "must be an array";
    if (s.maxItems !== undefined && v.length > s.maxItems) return `must have at most ${s.maxItems} items`;
  }
  return undefined;
}
