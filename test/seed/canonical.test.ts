// Canonical Extended JSON lines: every BSON type survives text → BSON byte for byte, and the
// client-side _id order is total and follows MongoDB's type order.
import { BSON, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { IntegrityError } from "../../runtime/src/errors.js";
import { fromCanonicalLine, hasUndefined, toCanonicalLine } from "../../runtime/src/seed/canonical.js";
import { compareBsonValues } from "../../runtime/src/seed/order.js";
import { allBsonTypeDocuments } from "../support/bson-types.js";

const encode = (doc: BSON.Document): Buffer => Buffer.from(BSON.serialize(doc, { checkKeys: false, ignoreUndefined: false }));

describe("canonical lines", () => {
  it("re-encodes every all-types document to the same bytes, except the deprecated undefined type", () => {
    const docs = allBsonTypeDocuments();
    const exact = docs.filter((d) => !hasUndefined(toCanonicalLine(d)));
    expect(exact.length).toBe(docs.length - 1);
    for (const raw of exact) {
      const line = toCanonicalLine(raw);
      expect(line).not.toContain("\n");
      expect(encode(fromCanonicalLine(line, "t:1")).equals(raw)).toBe(true);
    }
  });

  it("writes the undefined type as the spec's {\"$undefined\":true} instead of null", () => {
    const raw = allBsonTypeDocuments().find((d) => hasUndefined(toCanonicalLine(d))) as Buffer;
    expect(toCanonicalLine(raw)).toBe('{"_id":{"$numberInt":"10"},"deprecated":"undefined follows","undef":{"$undefined":true}}');
  });

  it("keeps numeric types apart in the text", () => {
    const line = toCanonicalLine(encode({ a: new Int32(1), b: new Double(1), c: Long.fromNumber(1), d: Decimal128.fromString("1") }));
    expect(line).toBe('{"a":{"$numberInt":"1"},"b":{"$numberDouble":"1.0"},"c":{"$numberLong":"1"},"d":{"$numberDecimal":"1"}}');
  });

  it("rejects a line that is not a document with IntegrityError naming file and line", () => {
    expect(() => fromCanonicalLine("[1]", "data/a/b.ejson:3")).toThrow(new IntegrityError("seed data/a/b.ejson:3: expected one document per line"));
    expect(() => fromCanonicalLine("{", "f:1")).toThrow(IntegrityError);
  });
});

describe("compareBsonValues", () => {
  it("orders values of different types as MongoDB does", () => {
    const oid = ObjectId.createFromHexString("5f1d7a3c9b1e8a0012345678");
    const sorted = [new MaxKey(), new Date(0), true, oid, { a: 1 }, "b", new Int32(3), null, new MinKey(), [1], new Double(2.5)].sort(compareBsonValues);
    expect(sorted.map((v) => BSON.EJSON.stringify({ v }, { relaxed: false }))).toEqual([
      '{"v":{"$minKey":1}}',
      '{"v":null}',
      '{"v":{"$numberDouble":"2.5"}}',
      '{"v":{"$numberInt":"3"}}',
      '{"v":"b"}',
      '{"v":{"a":{"$numberInt":"1"}}}',
      '{"v":[{"$numberInt":"1"}]}',
      '{"v":{"$oid":"5f1d7a3c9b1e8a0012345678"}}',
      '{"v":true}',
      '{"v":{"$date":{"$numberLong":"0"}}}',
      '{"v":{"$maxKey":1}}',
    ]);
  });

  it("compares numbers across types by value and strings by UTF-8 bytes", () => {
    expect(compareBsonValues(new Int32(2), Long.fromNumber(10))).toBeLessThan(0);
    expect(compareBsonValues(Decimal128.fromString("1.5"), new Int32(1))).toBeGreaterThan(0);
    expect(compareBsonValues("Z", "a")).toBeLessThan(0);
    expect(compareBsonValues("é", "z")).toBeGreaterThan(0);
    expect(compareBsonValues("x", "x")).toBe(0);
  });
});
