/**
 * The `$v: 2` update format of the oplog (MongoDB 5.0+): an update entry's `o` is
 * `{ $v: 2, diff: <document diff> }`, and applying the diff to the document before the update
 * gives the document after it. Implemented from MongoDB's description of the format (the
 * server's `doc_diff` design notes and the oplog entries a mongod 8 writes), not from its code.
 *
 *     document diff = { d?: { <field>: false, … }      fields deleted
 *                       u?: { <field>: <value>, … }    fields set (in place when present)
 *                       i?: { <field>: <value>, … }    fields inserted at the end
 *                       s<field>: <document diff | array diff>, … }   a sub-diff of a field
 *     array diff    = { a: true, l?: <new length>,
 *                       u<index>: <value>, …           element set (the array grows with nulls)
 *                       s<index>: <document diff | array diff>, … }
 */
import type { Document } from "mongodb";
import { IntegrityError } from "../errors.js";

/**
 * Returns a new document: `doc` with `diff` applied. Field order follows the server: kept and
 * updated fields stay where they were, updated fields that were absent and inserted fields come
 * last, in the diff's order. A sub-diff of an absent or non-matching field starts from an empty
 * document (or array). Throws IntegrityError naming the path when the diff is malformed (a
 * section that is not a document, an unknown key, an array diff whose index is not a number).
 */
export function applyDocumentDiff(doc: Document, diff: Document, path = ""): Document {
  const deletes = section(diff, "d", path);
  const updates = section(diff, "u", path);
  const inserts = section(diff, "i", path);
  const subs = new Map<string, Document>();
  for (const [key, value] of Object.entries(diff)) {
    if (key === "d" || key === "u" || key === "i") continue;
    if (!key.startsWith("s") || key.length < 2) throw new IntegrityError(`oplog $v:2 diff at ${where(path)}: unknown key "${key}"`);
    if (!isDocument(value)) throw new IntegrityError(`oplog $v:2 diff at ${where(path)}: sub-diff "${key}" is not a document`);
    subs.set(key.slice(1), value);
  }
  const out: Document = {};
  for (const [field, value] of Object.entries(doc)) {
    if (Object.hasOwn(deletes, field) || Object.hasOwn(inserts, field)) continue;
    if (Object.hasOwn(updates, field)) out[field] = updates[field];
    else if (subs.has(field)) out[field] = applySubDiff(value, subs.get(field)!, join(path, field));
    else out[field] = value;
  }
  for (const [field, value] of Object.entries(updates)) if (!(Object.hasOwn(out, field))) out[field] = value;
  for (const [field, sub] of subs) if (!(Object.hasOwn(out, field)) && !(Object.hasOwn(deletes, field))) out[field] = applySubDiff(undefined, sub, join(path, field));
  for (const [field, value] of Object.entries(inserts)) out[field] = value;
  return out;
}

/** Applies an array diff (`a: true`) to `arr`, returning a new array. */
export function applyArrayDiff(arr: readonly unknown[], diff: Document, path = ""): unknown[] {
  const out = [...arr];
  if (diff.l !== undefined) {
    const length = numberOf(diff.l);
    if (!Number.isInteger(length) || length < 0) throw new IntegrityError(`oplog $v:2 diff at ${where(path)}: array length "l" is not a whole number`);
    if (length < out.length) out.length = length;
    while (out.length < length) out.push(null);
  }
  for (const [key, value] of Object.entries(diff)) {
    if (key === "a" || key === "l") continue;
    const kind = key[0];
    const index = Number(key.slice(1));
    if ((kind !== "u" && kind !== "s") || !/^\d+$/.test(key.slice(1))) throw new IntegrityError(`oplog $v:2 diff at ${where(path)}: unknown array diff key "${key}"`);
    while (out.length < index) out.push(null);
    if (kind === "u") out[index] = value;
    else {
      if (!isDocument(value)) throw new IntegrityError(`oplog $v:2 diff at ${where(path)}: sub-diff "${key}" is not a document`);
      out[index] = applySubDiff(out[index], value, join(path, String(index)));
    }
  }
  return out;
}

function applySubDiff(value: unknown, sub: Document, path: string): unknown {
  if (sub.a === true) return applyArrayDiff(Array.isArray(value) ? value : [], sub, path);
  return applyDocumentDiff(isDocument(value) ? value : {}, sub, path);
}

function section(diff: Document, key: "d" | "u" | "i", path: string): Document {
  const value = diff[key];
  if (value === undefined) return {};
  if (!isDocument(value)) throw new IntegrityError(`oplog $v:2 diff at ${where(path)}: "${key}" is not a document`);
  return value;
}

/** A plain (sub)document: not an array, not a BSON value object (ObjectId, Int32, …). */
function isDocument(value: unknown): value is Document {
  return typeof value === "object" && value !== null && !Array.isArray(value) && (value as { _bsontype?: unknown })._bsontype === undefined;
}

function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "object" && value !== null && "value" in value) return Number((value as { value: unknown }).value);
  return Number.NaN;
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function where(path: string): string {
  return path || "the top level";
}
