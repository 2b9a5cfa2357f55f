import { describe, expect, it } from "vitest";
import { BSON, Double, Int32 } from "mongodb";
import { ConfigError } from "../../runtime/src/errors.js";
import { canonicalJson, compareDescriptions, createDocumentDigest, normalizeIndexSpec, type CollectionDescription } from "../../runtime/src/mongo/compare.js";
import { createNamespaceFilter, createRenamer, parseRename, splitNamespace } from "../../runtime/src/mongo/namespaces.js";

describe("namespace filter", () => {
  it("includes everything when no include pattern is given", () => {
    const f = createNamespaceFilter();
    expect(f.matches("a.b")).toBe(true);
    expect(f.exact).toBeUndefined();
  });

  it("matches `*` across dots, like mongodump's --nsInclude", () => {
    const f = createNamespaceFilter(["shop.*", "logs.2026*"]);
    expect(f.matches("shop.orders")).toBe(true);
    expect(f.matches("shop.system.buckets.x")).toBe(true);
    expect(f.matches("logs.2026.11")).toBe(true);
    expect(f.matches("logs.2025")).toBe(false);
    expect(f.matches("shopping.orders")).toBe(false);
    expect(f.exact).toBeUndefined();
  });

  it("treats regex characters literally and honours backslash escapes", () => {
    const f = createNamespaceFilter(["a.b+c", "x.lit\\*eral"]);
    expect(f.matches("a.b+c")).toBe(true);
    expect(f.matches("a.bbc")).toBe(false);
    expect(f.matches("x.lit*eral")).toBe(true);
    expect(f.matches("x.litXeral")).toBe(false);
    expect(f.exact).toEqual(["a.b+c", "x.lit*eral"]);
  });

  it("applies excludes after includes", () => {
    const f = createNamespaceFilter(["shop.*"], ["shop.tmp*", "*.cache"]);
    expect(f.matches("shop.orders")).toBe(true);
    expect(f.matches("shop.tmp_1")).toBe(false);
    expect(f.matches("shop.cache")).toBe(false);
  });

  it("lists exact namespaces (deduplicated, minus excludes) when every include is literal: discovery can be skipped", () => {
    const f = createNamespaceFilter(["shop.orders", "shop.users", "shop.orders", "crm.leads"], ["crm.*"]);
    expect(f.exact).toEqual(["shop.orders", "shop.users"]);
  });

  it.each([["orders"], [".orders"]])("rejects %j with a ConfigError that says what to write", (p) => {
    expect(() => createNamespaceFilter([p])).toThrow(ConfigError);
    expect(() => createNamespaceFilter([p])).toThrow(`include: "${p}" is not a namespace pattern; use <db>.<collection>, e.g. shop.orders or shop.* for a whole database`);
    expect(() => createNamespaceFilter([], [p])).toThrow(/^exclude: /);
  });

  it("splits at the first dot only", () => {
    expect(splitNamespace("db.system.buckets.w")).toEqual({ db: "db", collection: "system.buckets.w" });
    expect(() => splitNamespace("nodot")).toThrow('namespace: "nodot" is not a namespace; use <db>.<collection>');
  });
});

describe("renames", () => {
  it("maps wildcards position by position; first matching rule wins; others keep their name", () => {
    const r = createRenamer([
      { from: "shop.orders", to: "archive.orders_2026" },
      { from: "shop.*", to: "drill_shop.*" },
      { from: "*.log*", to: "logs.*_*" },
    ]);
    expect(r("shop.orders")).toBe("archive.orders_2026");
    expect(r("shop.users")).toBe("drill_shop.users");
    expect(r("app.logins")).toBe("logs.app_ins");
    expect(r("crm.leads")).toBe("crm.leads");
  });

  it("`*.*` splits at the first dot: collection names may contain dots, database names may not", () => {
    const r = createRenamer([{ from: "*.*", to: "drill_*.*" }]);
    expect(r("shop.system.buckets.weather")).toBe("drill_shop.system.buckets.weather");
    expect(r("a.b")).toBe("drill_a.b");
  });

  it("parses from:to and rejects mismatched wildcards", () => {
    expect(parseRename("a.*:b.*")).toEqual({ from: "a.*", to: "b.*" });
    expect(() => parseRename("a.*")).toThrow('rename: "a.*" must be <from-namespace>:<to-namespace>, e.g. shop.*:drill_shop.*');
    expect(() => createRenamer([{ from: "a.*", to: "b.c" }])).toThrow('rename: "a.*:b.c" has 1 wildcard(s) on the left and 0 on the right; they must match');
  });
});

describe("content comparison helpers", () => {
  it("canonical JSON keeps Int32, Int64 and Double apart", () => {
    const raw = BSON.serialize({ i: new Int32(1), d: new Double(1), l: BSON.Long.fromNumber(1) });
    expect(canonicalJson(raw)).toBe('{"i":{"$numberInt":"1"},"d":{"$numberDouble":"1.0"},"l":{"$numberLong":"1"}}');
  });

  it("the set digest does not depend on order and changes with any document", () => {
    const docs = [1, 2, 3].map((n) => BSON.serialize({ _id: n }));
    const a = createDocumentDigest();
    const b = createDocumentDigest();
    docs.forEach((d) => a.add(d));
    [...docs].reverse().forEach((d) => b.add(d));
    expect(a.hex()).toBe(b.hex());
    expect(a.count).toBe(3);
    const c = createDocumentDigest();
    [1, 2, 4].forEach((n) => c.add(BSON.serialize({ _id: n })));
    expect(c.hex()).not.toBe(a.hex());
    expect(createDocumentDigest().hex()).toBe("0".repeat(64));
  });

  it("normalizes index specs: drops ns and v, name and key first, options sorted", () => {
    expect(normalizeIndexSpec({ v: new Int32(2), unique: true, key: { b: new Int32(1), a: new Int32(-1) }, ns: "x.y", name: "b_a", background: false })).toBe(
      '{"name":"b_a","key":{"b":{"$numberInt":"1"},"a":{"$numberInt":"-1"}},"background":false,"unique":true}',
    );
  });

  it("reports every difference between two descriptions", () => {
    const d = (ns: string, count: number, indexes: string[], contentHash: string): CollectionDescription => ({ ns, count, indexes, contentHash, setHash: "" });
    const expected = [d("s.a", 2, ["i1"], "h1"), d("s.b", 1, [], "h2"), d("s.c", 0, [], "h3")];
    const actual = [d("t.a", 2, ["i1"], "h1"), d("t.b", 3, ["i9"], "hX")];
    expect(compareDescriptions(expected, actual, (ns) => ns.replace("s.", "t."))).toEqual([
      { ns: "t.b", what: "count", expected: "1", actual: "3" },
      { ns: "t.b", what: "indexes", expected: "", actual: "i9" },
      { ns: "t.b", what: "content", expected: "h2", actual: "hX" },
      { ns: "t.c", what: "missing", expected: "s.c", actual: "absent" },
    ]);
  });
});
