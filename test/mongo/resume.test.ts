import { describe, expect, it } from "vitest";
import { BSON, Decimal128, Int32, Long, ObjectId } from "mongodb";
import { canonicalJson } from "../../runtime/src/mongo/compare.js";
import { idBound, idOrderOptions, rawIdOf, resumableByIdOrder } from "../../runtime/src/mongo/resume.js";

describe("resuming a scan by _id", () => {
  it.each([
    ["Int32", new Int32(7), '{"_id":{"$numberInt":"7"}}'],
    ["Int64", Long.fromString("9007199254740993"), '{"_id":{"$numberLong":"9007199254740993"}}'],
    ["string", "ключ", '{"_id":"ключ"}'],
    ["ObjectId", ObjectId.createFromHexString("5f1d7a3c9b1e8a0012345678"), '{"_id":{"$oid":"5f1d7a3c9b1e8a0012345678"}}'],
    ["Decimal128", Decimal128.fromString("1.10"), '{"_id":{"$numberDecimal":"1.10"}}'],
    ["document", { a: new Int32(1), b: [new Int32(2)] }, '{"_id":{"a":{"$numberInt":"1"},"b":[{"$numberInt":"2"}]}}'],
  ])("extracts a %s _id exactly, wherever it sits in the document", (_name, id, ejson) => {
    const first = BSON.serialize({ _id: id, pad: "x".repeat(50) });
    const later = BSON.serialize({ before: 1, nested: { _id: "not this one" }, _id: id });
    for (const doc of [first, later]) {
      const raw = rawIdOf(doc);
      expect(raw).toBeDefined();
      expect(canonicalJson(raw as Buffer)).toBe(ejson);
      expect(BSON.EJSON.stringify(idBound(raw as Buffer), { relaxed: false })).toBe(ejson);
    }
  });

  it("returns undefined for a document without a top-level _id", () => {
    expect(rawIdOf(BSON.serialize({ nested: { _id: 1 } }))).toBeUndefined();
  });

  it("builds _id-order options, with an inclusive min bound when resuming", () => {
    expect(idOrderOptions()).toEqual({ sort: { _id: 1 }, hint: { _id: 1 } });
    const raw = rawIdOf(BSON.serialize({ _id: new Int32(5) })) as Buffer;
    expect(BSON.EJSON.stringify(idOrderOptions(raw), { relaxed: false })).toBe('{"sort":{"_id":{"$numberInt":"1"}},"hint":{"_id":{"$numberInt":"1"}},"min":{"_id":{"$numberInt":"5"}}}');
  });

  it("resumes only ordinary collections (capped ones may lack the _id index; buckets are not resumed)", () => {
    expect(resumableByIdOrder({ type: "collection", options: {}, dataCollection: "orders" })).toBe(true);
    expect(resumableByIdOrder({ type: "collection", options: { capped: true }, dataCollection: "log" })).toBe(false);
    expect(resumableByIdOrder({ type: "timeseries", options: {}, dataCollection: "system.buckets.w" })).toBe(false);
    expect(resumableByIdOrder({ type: "view", options: {}, dataCollection: undefined })).toBe(false);
  });
});
