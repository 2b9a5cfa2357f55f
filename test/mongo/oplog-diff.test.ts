// The `$v: 2` diff applier in pure TypeScript, case by case: every section of a document diff
// (d, u, i, s<field>), array diffs (a, l, u<index>, s<index>), nesting, field order, and the
// malformed diffs it refuses. Plus the oplog time helpers and the replay's refusals that need no
// server.
import { describe, expect, it } from "vitest";
import { Int32, Long, ObjectId, Timestamp, type MongoClient } from "mongodb";
import { ConfigError, IntegrityError } from "../../runtime/src/errors.js";
import { applyArrayDiff, applyDocumentDiff } from "../../runtime/src/mongo/oplog-diff.js";
import { compareTimes } from "../../runtime/src/manifest/manifest.js";
import { createOplogApplier, OplogApplyError, parseOplogTime, timeOf } from "../../runtime/src/mongo/oplog-apply.js";

describe("$v:2 document diffs", () => {
  const base = { _id: 1, a: 1, b: "two", c: { x: 1, y: [1, 2, 3] }, d: null };

  it("sets fields in place and keeps the order", () => {
    expect(Object.entries(applyDocumentDiff(base, { u: { b: "TWO", a: 5 } }))).toEqual(Object.entries({ _id: 1, a: 5, b: "TWO", c: base.c, d: null }));
  });
  it("appends set fields that were absent, in the diff's order", () => {
    expect(Object.keys(applyDocumentDiff(base, { u: { z: 1, y: 2 } }))).toEqual(["_id", "a", "b", "c", "d", "z", "y"]);
  });
  it("deletes fields, absent ones included", () => {
    expect(applyDocumentDiff(base, { d: { a: false, nope: false } })).toEqual({ _id: 1, b: "two", c: base.c, d: null });
  });
  it("inserts fields at the end, moving one that existed", () => {
    expect(Object.entries(applyDocumentDiff(base, { i: { a: "moved", n: 1 } }))).toEqual(Object.entries({ _id: 1, b: "two", c: base.c, d: null, a: "moved", n: 1 }));
  });
  it("applies a sub-diff to a subdocument, nested", () => {
    expect(applyDocumentDiff({ s: { t: { u: 1, v: 2 }, w: 3 } }, { ss: { st: { d: { u: false }, i: { x: 9 } }, u: { w: 4 } } })).toEqual({ s: { t: { v: 2, x: 9 }, w: 4 } });
  });
  it("starts a sub-diff of an absent or scalar field from an empty document", () => {
    expect(applyDocumentDiff({ a: 1 }, { sb: { i: { c: 1 } }, sa: { i: { k: true } } })).toEqual({ a: { k: true }, b: { c: 1 } });
  });
  it("keeps BSON values as they are (no promotion)", () => {
    const oid = new ObjectId();
    const out = applyDocumentDiff({ n: new Int32(1) }, { u: { n: new Long(5) }, i: { o: oid } });
    expect(out.n).toBeInstanceOf(Long);
    expect(out.o).toBe(oid);
  });
  it("an empty diff changes nothing, and the input is not modified", () => {
    const copy = structuredClone(base);
    expect(applyDocumentDiff(base, {})).toEqual(base);
    applyDocumentDiff(base, { u: { a: 2 }, sc: { sy: { a: true, l: 0 } } });
    expect(base).toEqual(copy);
  });
  it("does not treat inherited names (constructor, toString) as diff fields", () => {
    expect(applyDocumentDiff({ constructor: 1, toString: 2 }, { u: { a: 1 } })).toEqual({ constructor: 1, toString: 2, a: 1 });
  });
  it.each([
    [{ x: 1 }, 'unknown key "x"'],
    [{ u: 1 }, '"u" is not a document'],
    [{ d: [1] }, '"d" is not a document'],
    [{ sa: 3 }, 'sub-diff "sa" is not a document'],
    [{ s: {} }, 'unknown key "s"'],
  ])("refuses the malformed diff %j", (diff, problem) => {
    expect(() => applyDocumentDiff({ a: 1 }, diff)).toThrow(new IntegrityError(`oplog $v:2 diff at the top level: ${problem}`));
  });
  it("names the path of a malformed nested diff", () => {
    expect(() => applyDocumentDiff({ a: { b: [1] } }, { sa: { sb: { a: true, x1: 2 } } })).toThrow('oplog $v:2 diff at a.b: unknown array diff key "x1"');
  });
});

describe("$v:2 array diffs", () => {
  it("sets elements by index", () => {
    expect(applyArrayDiff([1, 2, 3], { a: true, u0: "a", u2: "c" })).toEqual(["a", 2, "c"]);
  });
  it("truncates with l", () => {
    expect(applyArrayDiff([1, 2, 3, 4], { a: true, l: 2 })).toEqual([1, 2]);
  });
  it("grows with l, padding with null", () => {
    expect(applyArrayDiff([1], { a: true, l: new Int32(3) })).toEqual([1, null, null]);
  });
  it("appends past the end, padding the hole with null", () => {
    expect(applyArrayDiff([1], { a: true, u3: 4 })).toEqual([1, null, null, 4]);
  });
  it("resizes before setting (l then u)", () => {
    expect(applyArrayDiff([1, 2, 3], { a: true, l: 1, u1: "b" })).toEqual([1, "b"]);
  });
  it("applies sub-diffs to elements: a subdocument and a nested array", () => {
    expect(applyArrayDiff([{ k: 1 }, [1, 2]], { a: true, s0: { u: { k: 2 } }, s1: { a: true, u1: 20 } })).toEqual([{ k: 2 }, [1, 20]]);
  });
  it("through a document diff, replacing a non-array with an array diff's result", () => {
    expect(applyDocumentDiff({ arr: "str" }, { sarr: { a: true, u0: 1 } })).toEqual({ arr: [1] });
  });
  it.each([
    [{ a: true, l: -1 }, 'array length "l" is not a whole number'],
    [{ a: true, l: 1.5 }, 'array length "l" is not a whole number'],
    [{ a: true, ux: 1 }, 'unknown array diff key "ux"'],
    [{ a: true, s0: 1 }, 'sub-diff "s0" is not a document'],
  ])("refuses the malformed array diff %j", (diff, problem) => {
    expect(() => applyArrayDiff([1], diff)).toThrow(`oplog $v:2 diff at the top level: ${problem}`);
  });
});

describe("oplog times", () => {
  it("compares exactly: seconds, then the ordinal", () => {
    expect(compareTimes({ t: 5, i: 9 }, { t: 6, i: 1 })).toBeLessThan(0);
    expect(compareTimes({ t: 6, i: 2 }, { t: 6, i: 1 })).toBeGreaterThan(0);
    expect(compareTimes({ t: 6, i: 1 }, { t: 6, i: 1 })).toBe(0);
  });
  it("reads an entry's ts, unsigned", () => {
    expect(timeOf({ ts: new Timestamp({ t: 0xfffffff0, i: 0xfffffffe }) })).toEqual({ t: 0xfffffff0, i: 0xfffffffe });
  });
  it("parses t,i and ISO 8601 (the whole second)", () => {
    expect(parseOplogTime("1796235406,3", "--to-time")).toEqual({ t: 1796235406, i: 3 });
    expect(parseOplogTime("2026-12-02T18:16:46Z", "--to-time")).toEqual({ t: 1796235406, i: 0xffffffff });
    expect(parseOplogTime("2026-12-02T18:16:46.900Z", "--to-time")).toEqual({ t: 1796235406, i: 0xffffffff });
    expect(parseOplogTime("2026-12-02T19:16:46+01:00", "--to-time")).toEqual({ t: 1796235406, i: 0xffffffff });
  });
  it.each(["yesterday", "2026-12-02T18:16:46", "1,2,3", "99999999999,1", ""])("refuses %j, naming the flag", (text) => {
    expect(() => parseOplogTime(text, "--to-time")).toThrow(ConfigError);
    expect(() => parseOplogTime(text, "--to-time")).toThrow(/^--to-time: .* is not a time; use ISO 8601 with a zone/);
  });
});

describe("the replay refuses what it cannot apply", () => {
  // These entries fail before any server is asked.
  const client = {} as MongoClient;
  const ts = new Timestamp({ t: 10, i: 1 });
  it.each([
    [{ op: "c", ns: "shop.$cmd", o: { convertToCapped: "c", size: 100 } }, "oplog replay c convertToCapped shop.$cmd: this command is not supported by the oplog replay; restore to a time before it"],
    [{ op: "x", ns: "shop.c", o: {} }, 'oplog replay x shop.c: unknown oplog op "x"'],
    [{ op: "c", ns: "shop.$cmd", o: { applyOps: [], prepare: true } }, "oplog replay c applyOps shop.$cmd: a partial or prepared transaction entry without lsid and txnNumber"],
    [{ op: "c", ns: "admin.$cmd", o: { commitTransaction: 1 }, lsid: { id: 1 }, txnNumber: 1 }, "oplog replay c commitTransaction admin.$cmd: no prepared transaction with this lsid and txnNumber came before it"],
  ])("%j", async (entry, message) => {
    const err = await createOplogApplier(client).apply({ ...entry, ts }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OplogApplyError);
    expect((err as Error).message).toBe(message);
  });
  it("dropDatabase under --include or --rename", async () => {
    await expect(createOplogApplier(client, { include: ["shop.*"] }).apply({ op: "c", ns: "shop.$cmd", o: { dropDatabase: 1 }, ts })).rejects.toThrow(
      "oplog replay c dropDatabase shop.$cmd: dropDatabase cannot be replayed with --include or --rename (it would drop the whole target database); restore without them, or to a time before it",
    );
  });
  it("counts another database's dropDatabase as not included", async () => {
    const applier = createOplogApplier(client, { include: ["shop.*"] });
    await applier.apply({ op: "c", ns: "other.$cmd", o: { dropDatabase: 1 }, ts });
    expect(applier.finish().notIncluded).toBe(1);
  });
  it("counts entries outside the window without touching the server", async () => {
    const applier = createOplogApplier(client, { after: { t: 10, i: 1 }, limit: { t: 10, i: 5 } });
    await applier.apply({ op: "i", ns: "a.b", o: { _id: 1 }, ts });
    await applier.apply({ op: "i", ns: "a.b", o: { _id: 1 }, ts: new Timestamp({ t: 10, i: 6 }) });
    await applier.apply({ op: "n", ns: "", o: {}, ts: new Timestamp({ t: 10, i: 5 }) });
    expect(applier.finish()).toEqual({ applied: 0, noops: 1, notIncluded: 0, internal: 0, before: 1, beyond: 1, uncommitted: 0, missing: 0, last: { t: 10, i: 5 } });
  });
});
