/**
 * Turns the JSON Schema (draft-07 subset) used by the public metadata API into MongoDB's
 * `$jsonSchema` dialect, which differs in a few documented ways: no `$id`, `$schema`, `format`,
 * `default` or `examples` keywords, and no `integer` type (integers are stored as int, long, or —
 * for a JavaScript number above 2^31 — double, so `integer` becomes those BSON types plus
 * `multipleOf: 1`). A `date-time` string may be stored as a BSON date (the metadata sync accepts
 * both), so it becomes `bsonType: ["date", "string"]`; string keywords (pattern, maxLength) apply
 * to the string form only, as JSON Schema defines.
 */
import { InternalError } from "../errors.js";

/** A JSON Schema node, as the public schema writes them. */
export type JsonSchema = { readonly [key: string]: unknown };

/** Keywords MongoDB's `$jsonSchema` rejects. */
const UNSUPPORTED = new Set(["$id", "$schema", "format", "default", "examples", "$ref", "definitions"]);

/**
 * Converts one schema node (recursively through `properties` and `items`). Pure: returns a new
 * object and never mutates `schema`. Keyword order is kept, so the result is deterministic.
 */
export function toMongoJsonSchema(schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (UNSUPPORTED.has(key)) continue;
    if (key === "type") {
      Object.assign(out, typeOf(value as string | string[], schema.format));
    } else if (key === "properties") {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, toMongoJsonSchema(v)]));
    } else if (key === "items" && value && typeof value === "object" && !Array.isArray(value)) {
      out.items = toMongoJsonSchema(value as JsonSchema);
    } else if (key === "required") {
      out.required = [...(value as string[])];
    } else {
      out[key] = value;
    }
  }
  return out;
}

function typeOf(type: string | string[], format: unknown): Record<string, unknown> {
  const types = Array.isArray(type) ? type : [type];
  if (types.length === 1 && types[0] === "integer") return { bsonType: ["int", "long", "double"], multipleOf: 1 };
  if (types.length === 1 && types[0] === "string" && format === "date-time") return { bsonType: ["date", "string"] };
  if (types.includes("integer")) throw new InternalError(`schema: "integer" mixed with other types (${types.join(", ")}) has no $jsonSchema equivalent`);
  return { type: Array.isArray(type) ? [...types] : type };
}
