import { describe, expect, it } from "vitest";
import { ConfigError } from "../../runtime/src/errors.js";
import { dayKey, isoWeekKey, monthKey, planPrune, type RetentionCandidate } from "../../runtime/src/retention/plan.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = new Date("2026-11-24T12:00:00Z");

function b(id: string, iso: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { id, createdAt: new Date(iso), complete: true, ...extra };
}

/** One complete backup per day at 03:00 UTC, `days` days back from `now` (d0 = today). */
function daily(days: number): RetentionCandidate[] {
  return Array.from({ length: days }, (_, i) => ({ id: `d${i}`, createdAt: new Date(Date.UTC(2026, 10, 24 - i, 3)), complete: true }));
}

const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id);

describe("bucket keys", () => {
  it("uses UTC days and months", () => {
    expect(dayKey(new Date("2026-11-24T23:59:59Z"))).toBe("2026-11-24");
    expect(dayKey(new Date("2026-11-25T00:00:00Z"))).toBe("2026-11-25");
    expect(monthKey(new Date("2026-12-31T23:59:59Z"))).toBe("2026-12");
  });

  it.each([
    ["2026-11-24T00:00:00Z", "2026-W48"], // a Tuesday
    ["2026-11-23T00:00:00Z", "2026-W48"], // Monday starts the week
    ["2026-11-22T23:59:59Z", "2026-W47"], // Sunday ends the previous one
    ["2021-01-03T12:00:00Z", "2020-W53"], // early January in the previous ISO year
    ["2024-12-30T12:00:00Z", "2025-W01"], // late December in the next ISO year
    ["2026-01-01T00:00:00Z", "2026-W01"],
  ])("ISO week of %s is %s", (iso, key) => {
    expect(isoWeekKey(new Date(iso))).toBe(key);
  });
});

describe("planPrune", () => {
  it("keep-last keeps exactly the newest N complete backups", () => {
    const plan = planPrune(daily(5), { keepLast: 2 }, now);
    expect(plan.keep).toEqual([
      { id: "d0", reasons: ["last 1/2"] },
      { id: "d1", reasons: ["last 2/2"] },
    ]);
    expect(plan.remove).toEqual([
      { id: "d2", reason: "not kept by any rule" },
      { id: "d3", reason: "not kept by any rule" },
      { id: "d4", reason: "not kept by any rule" },
    ]);
  });

  it("keep-daily keeps the newest backup of each of the last N days that have one", () => {
    const backups = [
      b("a", "2026-11-24T10:00:00Z"),
      b("b", "2026-11-24T03:00:00Z"),
      b("c", "2026-11-22T03:00:00Z"), // a day without backups (23rd) does not use up a slot
      b("d", "2026-11-21T20:00:00Z"),
      b("e", "2026-11-21T01:00:00Z"),
      b("f", "2026-11-20T01:00:00Z"),
    ];
    const plan = planPrune(backups, { keepDaily: 3 }, now);
    expect(plan.keep).toEqual([
      { id: "a", reasons: ["daily 2026-11-24"] },
      { id: "c", reasons: ["daily 2026-11-22"] },
      { id: "d", reasons: ["daily 2026-11-21"] },
    ]);
    expect(ids(plan.remove)).toEqual(["b", "e", "f"]);
  });

  it("keep-weekly uses ISO weeks and keep-monthly UTC months", () => {
    const backups = daily(70);
    const weekly = planPrune(backups, { keepWeekly: 3 }, now);
    // 24 Nov 2026 is a Tuesday: week 48 holds d0-d1, week 47 starts at d2 (Sun 22nd), week 46 at d9.
    expect(weekly.keep).toEqual([
      { id: "d0", reasons: ["weekly 2026-W48"] },
      { id: "d2", reasons: ["weekly 2026-W47"] },
      { id: "d9", reasons: ["weekly 2026-W46"] },
    ]);
    expect(weekly.remove).toHaveLength(67);
    const monthly = planPrune(backups, { keepMonthly: 5 }, now);
    // Only three months have backups (Nov, Oct, Sep): fewer buckets than asked is fine.
    expect(monthly.keep).toEqual([
      { id: "d0", reasons: ["monthly 2026-11"] },
      { id: "d24", reasons: ["monthly 2026-10"] },
      { id: "d55", reasons: ["monthly 2026-09"] },
    ]);
  });

  it("combines rules and lists every reason a backup is kept for", () => {
    const plan = planPrune(daily(40), { keepLast: 1, keepDaily: 2, keepMonthly: 2 }, now);
    expect(plan.keep).toEqual([
      { id: "d0", reasons: ["last 1/1", "daily 2026-11-24", "monthly 2026-11"] },
      { id: "d1", reasons: ["daily 2026-11-23"] },
      { id: "d24", reasons: ["monthly 2026-10"] },
    ]);
    expect(plan.keep.length + plan.remove.length).toBe(40);
  });

  it("keep-within keeps everything younger than now minus the duration, complete or not", () => {
    const backups = [
      b("fresh", "2026-11-24T11:00:00Z"),
      b("fresh-incomplete", "2026-11-22T11:00:00Z", { complete: false }),
      b("edge", "2026-11-17T12:00:00Z"), // exactly 7 d old: not younger, removed
      b("old", "2026-11-10T12:00:00Z"),
    ];
    const plan = planPrune(backups, { keepWithin: 7 * DAY, orphanGrace: DAY }, now);
    expect(plan.keep).toEqual([
      { id: "fresh", reasons: ["within 7d"] },
      { id: "fresh-incomplete", reasons: ["within 7d"] },
    ]);
    expect(plan.remove).toEqual([
      { id: "edge", reason: "not kept by any rule" },
      { id: "old", reason: "not kept by any rule" },
    ]);
  });

  it("incomplete backups never count toward the rules; they are left alone for the grace period, then removed", () => {
    const backups = [
      b("uploading", "2026-11-24T11:30:00Z", { complete: false }),
      b("orphan", "2026-11-22T03:00:00Z", { complete: false }),
      b("good1", "2026-11-23T03:00:00Z"),
      b("good2", "2026-11-21T03:00:00Z"),
      b("good3", "2026-11-20T03:00:00Z"),
    ];
    const plan = planPrune(backups, { keepLast: 2, keepDaily: 2 }, now);
    expect(plan.keep).toEqual([
      { id: "uploading", reasons: ["incomplete, may still be in progress"] },
      { id: "good1", reasons: ["last 1/2", "daily 2026-11-23"] },
      { id: "good2", reasons: ["last 2/2", "daily 2026-11-21"] },
    ]);
    expect(plan.remove).toEqual([
      { id: "orphan", reason: "incomplete (no manifest) and older than the grace period" },
      { id: "good3", reason: "not kept by any rule" },
    ]);
  });

  it("a flood of new unverified backups does not evict the last verified one", () => {
    const good = b("good", "2026-11-01T03:00:00Z", { verifiedAt: new Date("2026-11-01T04:00:00Z") });
    const olderGood = b("older-good", "2026-10-01T03:00:00Z", { verifiedAt: new Date("2026-10-01T04:00:00Z") });
    const junk = Array.from({ length: 50 }, (_, i) => b(`junk${i}`, new Date(now.getTime() - (i + 1) * HOUR).toISOString()));
    const incompleteJunk = Array.from({ length: 5 }, (_, i) => b(`partial${i}`, new Date(now.getTime() - (i + 30) * DAY).toISOString(), { complete: false }));
    const plan = planPrune([...junk, good, olderGood, ...incompleteJunk], { keepLast: 7, keepDaily: 2, keepMonthly: 1 }, now);
    expect(plan.keep.find((k) => k.id === "good")).toEqual({ id: "good", reasons: ["newest verified"] });
    // Only the newest verified one is protected; the older verified one goes like any other.
    expect(plan.remove.find((r) => r.id === "older-good")).toEqual({ id: "older-good", reason: "not kept by any rule" });
    expect(ids(plan.remove).filter((id) => id.startsWith("partial"))).toHaveLength(5);
    expect(plan.keep.length + plan.remove.length).toBe(57);
  });

  it("an incomplete backup with a verification date is not the protected verified one", () => {
    const plan = planPrune(
      [b("broken", "2026-11-20T03:00:00Z", { complete: false, verifiedAt: now }), b("ok", "2026-11-10T03:00:00Z", { verifiedAt: now }), b("new", "2026-11-24T03:00:00Z")],
      { keepLast: 1 },
      now,
    );
    expect(plan.keep).toEqual([
      { id: "new", reasons: ["last 1/1"] },
      { id: "ok", reasons: ["newest verified"] },
    ]);
    expect(plan.remove).toEqual([{ id: "broken", reason: "incomplete (no manifest) and older than the grace period" }]);
  });

  it("orders ties by id and does not depend on input order", () => {
    const xs = [b("x2", "2026-11-24T03:00:00Z"), b("x1", "2026-11-24T03:00:00Z"), b("x3", "2026-11-24T03:00:00Z")];
    const p1 = planPrune(xs, { keepLast: 1 }, now);
    const p2 = planPrune([...xs].reverse(), { keepLast: 1 }, now);
    expect(p1).toEqual(p2);
    expect(p1.keep).toEqual([{ id: "x3", reasons: ["last 1/1"] }]);
    expect(ids(p1.remove)).toEqual(["x2", "x1"]);
  });

  it("an empty list gives an empty plan", () => {
    expect(planPrune([], { keepLast: 3 }, now)).toEqual({ keep: [], remove: [] });
  });

  it("refuses a policy without any keep rule", () => {
    expect(() => planPrune(daily(2), {}, now)).toThrow(
      "keep-last: no keep rule given (keep-last, keep-daily, keep-weekly, keep-monthly or keep-within); refusing to plan the removal of every backup",
    );
    expect(() => planPrune(daily(2), { keepLast: 0, keepWithin: 0 }, now)).toThrow(ConfigError);
  });

  it.each([
    [{ keepLast: -1 }, "keep-last: must be a whole number ≥ 0, got -1"],
    [{ keepDaily: 1.5 }, "keep-daily: must be a whole number ≥ 0, got 1.5"],
    [{ keepWeekly: Number.NaN }, "keep-weekly: must be a whole number ≥ 0, got NaN"],
    [{ keepLast: 1, keepWithin: -5 }, "keep-within: must be a duration ≥ 0, got -5"],
  ])("rejects %j", (policy, message) => {
    expect(() => planPrune(daily(2), policy, now)).toThrow(message);
  });

  it("the seed's defaults (7 days local) keep a week of dailies and drop the rest", () => {
    const plan = planPrune(daily(30), { keepDaily: 7, keepWithin: 7 * DAY }, now);
    expect(ids(plan.keep)).toEqual(["d0", "d1", "d2", "d3", "d4", "d5", "d6"]);
    expect(plan.remove).toHaveLength(23);
  });
});
