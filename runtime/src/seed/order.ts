/**
 * A total, deterministic order on BSON values, used to sort seed documents by `_id` on the client
 * so the same data gives the same file whatever server (or server version) it was read from.
 * It follows MongoDB's documented comparison order for values of different types (MinKey, null,
 * numbers, strings and symbols, objects, arrays, binary, ObjectId, booleans, dates, timestamps,
 * regular expressions, MaxKey) and breaks any remaining tie on canonical Extended JSON, so no two
 * distinct values compare equal.
 */
import { BSON } from "bson";

const RANK: Record<string, number> = {
  MinKey: 1,
  null: 2,
  number: 3,
  string: 4,
  object: 5,
  array: 6,
  Binary: 7,
  ObjectId: 8,
  boolean: 9,
  Date: 10,
  Timestamp: 11,
  BSONRegExp: 12,
  Code: 13,
  CodeWScope: 14,
  MaxKey: 127,
};

function kind(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "Date";
  if (v instanceof RegExp) return "BSONRegExp";
  switch (typeof v) {
    case "number":
    case "bigint":
      return "number";
    case "string":
      return "string";
    case "boolean":
      return "boolean";
  }
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === "Int32" || t === "Double" || t === "Long" || t === "Decimal128") return "number";
  if (t === "BSONSymbol") return "string";
  if (t === "UUID") return "Binary";
  if (t === "Code") return (v as BSON.Code).scope ? "CodeWScope" : "Code";
  if (t === "DBRef") return "object";
  if (t && t in RANK) return t;
  return "object";
}

function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return Number.parseFloat(String(v));
}

function cmp<T extends string | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Byte-wise comparison of UTF-8 strings, as the server compares strings without a collation. */
function cmpUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function bytesOf(v: unknown): Buffer {
  const b = v as BSON.Binary;
  return Buffer.from(b.buffer.subarray(0, b.position));
}

function ejson(v: unknown): string {
  return BSON.EJSON.stringify({ v }, { relaxed: false });
}

function entries(v: unknown): Array<[string, unknown]> {
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === "DBRef") {
    const r = v as BSON.DBRef;
    return Object.entries(r.toJSON() as Record<string, unknown>);
  }
  return Object.entries(v as Record<string, unknown>);
}

function compareSameKind(k: string, a: unknown, b: unknown): number {
  switch (k) {
    case "MinKey":
    case "MaxKey":
    case "null":
      return 0;
    case "number": {
      const x = num(a);
      const y = num(b);
      // NaN sorts below every other number, as in MongoDB.
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
      return cmp(x, y);
    }
    case "string":
      return cmpUtf8(String(typeof a === "string" ? a : (a as BSON.BSONSymbol).value), String(typeof b === "string" ? b : (b as BSON.BSONSymbol).value));
    case "object": {
      const ea = entries(a);
      const eb = entries(b);
      for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
        const [ka, va] = ea[i] as [string, unknown];
        const [kb, vb] = eb[i] as [string, unknown];
        const r = cmp(RANK[kind(va)] ?? 0, RANK[kind(vb)] ?? 0) || cmpUtf8(ka, kb) || compareBsonValues(va, vb);
        if (r !== 0) return r;
      }
      return cmp(ea.length, eb.length);
    }
    case "array": {
      const xa = a as unknown[];
      const xb = b as unknown[];
      for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
        const r = compareBsonValues(xa[i], xb[i]);
        if (r !== 0) return r;
      }
      return cmp(xa.length, xb.length);
    }
    case "Binary": {
      const ba = bytesOf(a);
      const bb = bytesOf(b);
      return cmp(ba.length, bb.length) || cmp((a as BSON.Binary).sub_type, (b as BSON.Binary).sub_type) || Buffer.compare(ba, bb);
    }
    case "ObjectId":
      return Buffer.compare(Buffer.from((a as BSON.ObjectId).id), Buffer.from((b as BSON.ObjectId).id));
    case "boolean":
      return cmp(Number(a), Number(b));
    case "Date":
      return cmp((a as Date).getTime(), (b as Date).getTime());
    case "Timestamp": {
      const ta = a as BSON.Timestamp;
      const tb = b as BSON.Timestamp;
      return cmp(ta.t, tb.t) || cmp(ta.i, tb.i);
    }
    case "BSONRegExp": {
      const ra = a as BSON.BSONRegExp;
      const rb = b as BSON.BSONRegExp;
      return cmpUtf8(ra.pattern, rb.pattern) || cmpUtf8(ra.options, rb.options);
    }
    default:
      return 0;
  }
}

/**
 * Compares two BSON values decoded without promotion (Int32, Double, Long, Decimal128 wrappers).
 * Returns a negative number, zero or a positive number; zero only for values with identical
 * canonical Extended JSON, so sorting with it is deterministic.
 */
export function compareBsonValues(a: unknown, b: unknown): number {
  const ka = kind(a);
  const kb = kind(b);
  const byRank = cmp(RANK[ka] ?? 0, RANK[kb] ?? 0);
  if (byRank !== 0) return byRank;
  const same = compareSameKind(ka, a, b);
  if (same !== 0) return same;
  const ja = ejson(a);
  const jb = ejson(b);
  return ja === jb ? 0 : ja < jb ? -1 : 1;
}
