/**
 * Raw BSON documents covering every BSON type and the awkward corners of names and nesting, for
 * round-trip tests and benchmarks. Everything is deterministic: the same call gives the same
 * bytes, so tests can compare byte for byte.
 */
import {
  Binary,
  BSON,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from "bson";
import type { NamespaceMetadata } from "../../runtime/src/archive/types.js";

function serialize(doc: Record<string, unknown>): Buffer {
  const u8 = BSON.serialize(doc, { checkKeys: false, ignoreUndefined: false });
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/**
 * js-bson writes `undefined` as null, so the deprecated undefined type (0x06) is produced by
 * rewriting the type byte of a top-level null element named `key`. Both carry no value bytes.
 */
function withUndefined(doc: Record<string, unknown>, key: string): Buffer {
  const buf = serialize({ ...doc, [key]: null });
  const marker = Buffer.concat([Buffer.from([0x0a]), Buffer.from(key + "\0", "utf8")]);
  const at = buf.indexOf(marker, 4);
  if (at < 0) throw new Error(`bson-types: element ${key} not found`);
  buf[at] = 0x06;
  return buf;
}

function nestedArrays(depth: number): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = [i, v];
  return v;
}

/** One raw BSON document per interesting case (≈20 documents, every BSON type at least once). */
export function allBsonTypeDocuments(): Buffer[] {
  const oid = ObjectId.createFromHexString("5f1d7a3c9b1e8a0012345678");
  const docs: Buffer[] = [
    serialize({}),
    serialize({ _id: oid, double: new Double(1.5), wholeDouble: new Double(2), int32: new Int32(2), nan: NaN, negZero: new Double(-0), inf: -Infinity }),
    serialize({ _id: 2, int64Big: Long.fromString("9007199254740993"), int64Min: Long.fromString("-9223372036854775808"), int64Max: Long.MAX_VALUE }),
    serialize({ _id: 3, dec: Decimal128.fromString("1234567890.123456789012345678901234"), decNeg: Decimal128.fromString("-0.000"), decInf: Decimal128.fromString("Infinity"), decNaN: Decimal128.fromString("NaN") }),
    serialize({
      _id: 4,
      generic: new Binary(Buffer.from([0, 1, 2, 255]), 0),
      fn: new Binary(Buffer.from("f"), 1),
      oldBinary: new Binary(Buffer.from([1, 2, 3, 4]), 2),
      oldUuid: new Binary(Buffer.from("0123456789abcdef"), 3),
      uuid: new UUID("3b241101-e2bb-4255-8caf-4136c566a962"),
      md5: new Binary(Buffer.alloc(16, 7), 5),
      encrypted: new Binary(Buffer.from([9]), 6),
      column: new Binary(Buffer.from([0]), 7),
      user: new Binary(Buffer.from("user"), 0x80),
      empty: new Binary(Buffer.alloc(0), 0),
    }),
    serialize({ _id: 5, before1970: new Date(Date.UTC(1901, 11, 13, 20, 45, 52)), epoch: new Date(0), far: new Date(8.64e15), negMs: new Date(-1) }),
    serialize({ _id: 6, re: new BSONRegExp("^a.*b$", "imsux"), reNoFlags: new BSONRegExp("x", ""), reSlash: /a\/b/g }),
    serialize({ _id: 7, code: new Code("function () { return 1; }"), codeWithScope: new Code("function () { return x; }", { x: 42 }) }),
    serialize({ _id: 8, ts: new Timestamp({ t: 1_700_000_000, i: 7 }), tsZero: new Timestamp({ t: 0, i: 0 }), tsMax: new Timestamp({ t: 0xffffffff, i: 0xffffffff }) }),
    serialize({ _id: 9, min: new MinKey(), max: new MaxKey(), nul: null, bool: true, boolFalse: false }),
    withUndefined({ _id: 10, deprecated: "undefined follows" }, "undef"),
    serialize({ _id: 11, symbol: new BSONSymbol("sym"), dbref: new DBRef("other", oid, "otherdb") }),
    serialize({ _id: 12, deep: nestedArrays(90) }),
    serialize({ _id: 13, $dollar: 1, "a.b": { "$c.d": [{ "$": "x" }] }, "": "empty key" }),
    serialize({ _id: 14, "ключ": "значение", "键": "値", emoji: "🦆 \u0000 inside? no", rtl: "עברית", combining: "e\u0301" }),
    serialize({ _id: 15, nested: { a: { b: { c: [1, "two", new Double(3), [new Int32(4)], { five: 5 }] } } }, emptyArr: [], emptyObj: {} }),
    serialize({ _id: Long.fromNumber(16), longString: "x".repeat(5000) }),
    serialize({ _id: { compound: true, n: 17 }, sparse: [1, 2, 3].map((n) => ({ n })) }),
  ];
  return docs;
}

/** Collection metadata in the form mongodump writes (canonical Extended JSON v2 text). */
function metadataFor(db: string, collection: string, extraIndex = false): string {
  const indexes: unknown[] = [{ v: { $numberInt: "2" }, key: { _id: { $numberInt: "1" } }, name: "_id_" }];
  if (extraIndex) indexes.push({ v: { $numberInt: "2" }, key: { "ключ": { $numberInt: "-1" } }, name: "ключ_-1" });
  return JSON.stringify({
    options: {},
    indexes,
    uuid: "0123456789abcdef0123456789abcdef",
    collectionName: collection,
    type: "collection",
    db,
  });
}

/** A namespace for round-trip tests: prelude entry and documents. */
export interface RoundTripNamespace {
  meta: NamespaceMetadata;
  docs: Buffer[];
}

/**
 * Several namespaces: every BSON type, an empty collection, unicode database and collection
 * names, a name with characters mongodump escapes in file names, and a larger collection of
 * small documents (so interleaving writers produce several segments).
 */
export function namespacesForRoundTrip(): RoundTripNamespace[] {
  const many: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    many.push(serialize({ _id: i, name: `user ${i}`, score: new Double(i / 7), tags: ["a", "b", String(i % 13)], at: new Date(1_600_000_000_000 + i * 1000) }));
  }
  const ns = (db: string, collection: string, docs: Buffer[], extraIndex = false): RoundTripNamespace => ({
    meta: { db, collection, metadata: metadataFor(db, collection, extraIndex), size: docs.reduce((n, d) => n + d.length, 0), type: "collection" },
    docs,
  });
  return [
    ns("types", "all", allBsonTypeDocuments()),
    ns("types", "empty", []),
    ns("базаданных", "コレクション", [serialize({ _id: "ü", v: "ñ" })], true),
    ns("shop", "orders/2024 v1:x", [serialize({ _id: 1, total: Decimal128.fromString("9.99") })]),
    ns("shop", "many", many),
  ];
}
