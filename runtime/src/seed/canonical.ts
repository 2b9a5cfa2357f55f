/**
 * Raw BSON ↔ canonical Extended JSON v2, one document per line. Decoding never promotes values,
 * so Int32, Int64, Double and Decimal128 stay distinct in the text and come back as the same BSON
 * types. js-bson writes the deprecated `undefined` type (0x06) as `null`; the extended JSON spec
 * spells it `{"$undefined": true}`, so that value is written as the spec says, and `hasUndefined`
 * lets an importer warn that the driver can only store it as null.
 */
import { BSON, type Document } from "bson";
import { IntegrityError } from "../errors.js";

const EXACT = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** Decodes raw BSON exactly (no promotion), for sorting and for writing back through the driver. */
export function decodeExact(raw: Uint8Array): Document {
  return BSON.deserialize(raw, EXACT);
}

/** Replaces every `undefined` value (BSON 0x06 after decoding) with the spec's `{"$undefined": true}`. */
function markUndefined(value: unknown): unknown {
  if (value === undefined) return { $undefined: true };
  if (Array.isArray(value)) return value.map(markUndefined);
  if (value && typeof value === "object" && (value as { _bsontype?: unknown })._bsontype === undefined && !(value instanceof Date) && !(value instanceof RegExp)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = markUndefined(v);
    return out;
  }
  return value;
}

/** One document as canonical Extended JSON v2 on a single line (no trailing newline). */
export function toCanonicalLine(raw: Uint8Array): string {
  return BSON.EJSON.stringify(markUndefined(decodeExact(raw)) as Document, { relaxed: false });
}

/**
 * Parses one line written by `toCanonicalLine` back into a document whose BSON encoding equals
 * the original bytes (except the deprecated undefined type, which js-bson encodes as null).
 * Throws IntegrityError naming `where` (file:line) when the line is not an Extended JSON object.
 */
export function fromCanonicalLine(line: string, where: string): Document {
  let doc: unknown;
  try {
    doc = BSON.EJSON.parse(line, { relaxed: false });
  } catch (err) {
    throw new IntegrityError(`seed ${where}: not canonical Extended JSON (${(err as Error).message})`, { cause: err });
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new IntegrityError(`seed ${where}: expected one document per line`);
  return doc as Document;
}

/** True when the line holds the deprecated undefined type, which cannot be written back exactly. */
export function hasUndefined(line: string): boolean {
  return line.includes('{"$undefined":true}');
}
