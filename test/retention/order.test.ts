// The one ordering of backups, where a damaged backup is placed, and which verifications count.
import { describe, expect, it } from "vitest";
import { latestStartOf } from "../../runtime/src/manifest/manifest.js";
import { compareNewestFirst, newestFirst } from "../../runtime/src/manifest/order.js";
import { countsAsVerified, type VerificationRecord } from "../../runtime/src/manifest/store.js";

describe("newestFirst", () => {
  it("orders by createdAt to the millisecond, then by id, whatever the ids say", () => {
    const items = [
      { id: "20261124T221500Z-ffffff", createdAt: "2026-11-24T22:15:00.100Z" },
      { id: "20261124T221500Z-000000", createdAt: "2026-11-24T22:15:00.900Z" },
      { id: "20261124T221500Z-aaaaaa", createdAt: new Date("2026-11-24T22:15:00.900Z") },
      { id: "20261123T000000Z-123456", createdAt: "2026-11-23T00:00:00.000Z" },
    ];
    expect(newestFirst(items).map((i) => i.id)).toEqual(["20261124T221500Z-aaaaaa", "20261124T221500Z-000000", "20261124T221500Z-ffffff", "20261123T000000Z-123456"]);
    expect(newestFirst(items.map((i) => ({ m: i })), (x) => x.m).map((x) => x.m.id)).toEqual(newestFirst(items).map((i) => i.id));
    expect(items[0]!.id).toBe("20261124T221500Z-ffffff"); // a copy: the input is not reordered
  });

  it("an unparsable time sorts as the oldest", () => {
    expect(compareNewestFirst({ id: "b", createdAt: "not a date" }, { id: "a", createdAt: "2000-01-01T00:00:00Z" })).toBeGreaterThan(0);
  });
});

describe("latestStartOf", () => {
  it("is the end of the second the id names, so a damaged backup is never ranked older than it may be", () => {
    expect(latestStartOf("20261124T221500Z-3fa9c1")?.toISOString()).toBe("2026-11-24T22:15:00.999Z");
    expect(latestStartOf("20261124T221500Z")).toBeUndefined();
    expect(latestStartOf("garbage")).toBeUndefined();
  });
});

describe("countsAsVerified", () => {
  const rec = (level: VerificationRecord["level"], ok: boolean): VerificationRecord => ({ id: "x", verifiedAt: "2026-11-24T00:00:00.000Z", ok, level, detail: {} });
  it("counts a passing newest record at any level, and nothing else", () => {
    expect(countsAsVerified(undefined)).toBe(false);
    expect(countsAsVerified({ last: rec("checksum", true) })).toBe(true);
    expect(countsAsVerified({ last: rec("read", true) })).toBe(true);
    expect(countsAsVerified({ last: rec("restore-drill", false) })).toBe(false);
    expect(countsAsVerified({ last: rec("checksum", false), lastFull: rec("read", true) })).toBe(false);
  });
  it("a checksum pass does not clear a failed full read before it", () => {
    expect(countsAsVerified({ last: rec("checksum", true), lastFull: rec("read", false) })).toBe(false);
    expect(countsAsVerified({ last: rec("checksum", true), lastFull: rec("read", true) })).toBe(true);
  });
});
