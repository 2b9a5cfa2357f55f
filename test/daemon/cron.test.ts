import { describe, expect, it } from "vitest";
import { nextRun, parseCron, scheduleIntervalSeconds } from "../../runtime/src/config/cron.js";
import { scheduledAt } from "../../runtime/src/daemon/daemon.js";
import { ConfigError } from "../../runtime/src/errors.js";

const at = (iso: string): Date => new Date(iso);
const next = (expr: string, after: string): string => nextRun(expr, at(after)).toISOString();

describe("parseCron", () => {
  it("expands *, values, ranges, steps, lists and names", () => {
    const s = parseCron("*/15 9-17/4 1,15 1 *");
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 13, 17]);
    expect([...s.daysOfMonth]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1]);
    expect(s.daysOfWeek.size).toBe(7);
    expect(s.domRestricted).toBe(true);
    expect(s.dowRestricted).toBe(false);
    const n = parseCron("5/20 0 * JAN-mar,dec MON-fri");
    expect([...n.minutes]).toEqual([5, 25, 45]);
    expect([...n.months]).toEqual([1, 2, 3, 12]);
    expect([...n.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
  });

  it("treats day-of-week 7 as Sunday and */n as unrestricted", () => {
    const s = parseCron("0 0 */2 * 7");
    expect([...s.daysOfWeek]).toEqual([0]);
    expect(s.domRestricted).toBe(false);
    expect(s.dowRestricted).toBe(true);
  });

  it("accepts the @ macros", () => {
    expect([...parseCron("@daily").hours]).toEqual([0]);
    expect(next("@hourly", "2026-11-24T23:35:00Z")).toBe("2026-11-25T00:00:00.000Z");
    expect(next("@weekly", "2026-11-24T23:35:00Z")).toBe("2026-11-29T00:00:00.000Z");
    expect(next("@monthly", "2026-11-24T23:35:00Z")).toBe("2026-12-01T00:00:00.000Z");
    expect(next("@yearly", "2026-11-24T23:35:00Z")).toBe("2027-01-01T00:00:00.000Z");
  });

  it.each([
    ["0 3 * *", 'ConfigError: schedule: "0 3 * *" is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ["60 3 * * *", 'schedule: "60 3 * * *": minute field "60" has 60 outside 0-59'],
    ["0 24 * * *", 'schedule: "0 24 * * *": hour field "24" has 24 outside 0-23'],
    ["0 0 0 * *", 'schedule: "0 0 0 * *": day-of-month field "0" has 0 outside 1-31'],
    ["0 0 * 13 *", 'schedule: "0 0 * 13 *": month field "13" has 13 outside 1-12'],
    ["0 0 * * 8", 'schedule: "0 0 * * 8": day-of-week field "8" has 8 outside 0-7'],
    ["0 0 * * fun", 'schedule: "0 0 * * fun": day-of-week field "fun" has an unknown value "fun"'],
    ["*/0 * * * *", 'schedule: "*/0 * * * *": minute field "*/0" has an invalid step "0"'],
    ["5-1 * * * *", 'schedule: "5-1 * * * *": minute field "5-1" has a backwards range "5-1"'],
    ["1,,2 * * * *", 'schedule: "1,,2 * * * *": minute field "1,,2" has an empty list item'],
    ["1/2/3 * * * *", 'schedule: "1/2/3 * * * *": minute field "1/2/3" has more than one /'],
    ["0 0 30 2 *", 'schedule: "0 0 30 2 *" never fires (no such date)'],
  ])("rejects %s", (expr, message) => {
    let err: unknown;
    try {
      parseCron(expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err).replace(/^ConfigError: /, "")).toBe(message.replace(/^ConfigError: /, ""));
  });

  it("names the field it was given", () => {
    expect(() => parseCron("nope", "CLOUDSYNC_SCHEDULE")).toThrow(/^CLOUDSYNC_SCHEDULE: "nope" is not a cron expression/);
  });
});

describe("nextRun (UTC)", () => {
  it.each([
    // [expression, after, expected]
    ["0 3 * * *", "2026-11-24T02:59:59Z", "2026-11-24T03:00:00.000Z"],
    ["0 3 * * *", "2026-11-24T03:00:00Z", "2026-11-25T03:00:00.000Z"],
    ["0 3 * * *", "2026-11-24T03:00:30Z", "2026-11-25T03:00:00.000Z"],
    ["* * * * *", "2026-11-24T23:59:10Z", "2026-11-25T00:00:00.000Z"],
    ["*/15 * * * *", "2026-11-24T10:46:00Z", "2026-11-24T11:00:00.000Z"],
    ["30 */6 * * *", "2026-11-24T06:31:00Z", "2026-11-24T12:30:00.000Z"],
    ["0 0 1 * *", "2026-12-15T00:00:00Z", "2027-01-01T00:00:00.000Z"],
    ["0 0 31 * *", "2026-11-01T00:00:00Z", "2026-12-31T00:00:00.000Z"],
    ["0 12 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00.000Z"],
    ["0 0 * * mon-fri", "2026-11-27T12:00:00Z", "2026-11-30T00:00:00.000Z"],
    ["0 0 * * 0", "2026-11-24T00:00:00Z", "2026-11-29T00:00:00.000Z"],
    ["0 0 * * 7", "2026-11-24T00:00:00Z", "2026-11-29T00:00:00.000Z"],
    ["15 14 1 * *", "2026-11-24T00:00:00Z", "2026-12-01T14:15:00.000Z"],
    ["0 22 * * 1-5", "2026-11-24T22:00:00Z", "2026-11-25T22:00:00.000Z"],
    ["0 0 1 jan *", "2026-11-24T00:00:00Z", "2027-01-01T00:00:00.000Z"],
    ["59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00.000Z"],
  ])("%s after %s is %s", (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });

  it("applies the dom/dow OR rule when both are restricted", () => {
    // The 13th, or any Friday: from Tue 2026-11-24 the first is Fri 11-27, then Dec 4, 11, then Sun Dec 13.
    const runs: string[] = [];
    let t = at("2026-11-24T00:00:00Z");
    for (let i = 0; i < 4; i++) {
      t = nextRun("0 0 13 * fri", t);
      runs.push(t.toISOString().slice(0, 10));
    }
    expect(runs).toEqual(["2026-11-27", "2026-12-04", "2026-12-11", "2026-12-13"]);
  });

  it("uses only day-of-week when day-of-month is *", () => {
    expect(next("0 0 * * fri", "2026-11-24T00:00:00Z")).toBe("2026-11-27T00:00:00.000Z");
    expect(next("0 0 13 * *", "2026-11-24T00:00:00Z")).toBe("2026-12-13T00:00:00.000Z");
  });

  it("agrees with a brute-force minute scan for assorted expressions", () => {
    const exprs = ["7,37 */5 * * *", "0 0 10-12 * 2", "*/20 1 * 2,8 sat,sun", "0 12 */10 * *", "45 23 * * 5"];
    const start = at("2026-01-30T22:58:00Z");
    for (const expr of exprs) {
      const s = parseCron(expr);
      let brute = new Date(start.getTime() + 60_000);
      for (let i = 0; i < 600_000; i++) {
        const dom = s.daysOfMonth.has(brute.getUTCDate());
        const dow = s.daysOfWeek.has(brute.getUTCDay());
        const dayOk = s.domRestricted && s.dowRestricted ? dom || dow : s.domRestricted ? dom : s.dowRestricted ? dow : true;
        if (s.minutes.has(brute.getUTCMinutes()) && s.hours.has(brute.getUTCHours()) && s.months.has(brute.getUTCMonth() + 1) && dayOk) break;
        brute = new Date(brute.getTime() + 60_000);
      }
      expect(nextRun(s, start).toISOString(), expr).toBe(brute.toISOString());
    }
  });
});

describe("scheduleIntervalSeconds", () => {
  it("is the longest gap between runs", () => {
    expect(scheduleIntervalSeconds("0 3 * * *", at("2026-11-24T00:00:00Z"))).toBe(86_400);
    expect(scheduleIntervalSeconds("*/15 * * * *", at("2026-11-24T00:00:00Z"))).toBe(900);
    expect(scheduleIntervalSeconds("0 3 * * 1-5", at("2026-11-24T00:00:00Z"))).toBe(3 * 86_400);
  });
});

describe("scheduledAt (jitter)", () => {
  const s = parseCron("0 3 * * *");
  const after = at("2026-11-24T12:00:00Z");
  it("adds 0 up to the jitter to the cron time", () => {
    expect(scheduledAt(s, after, 600_000, () => 0).toISOString()).toBe("2026-11-25T03:00:00.000Z");
    expect(scheduledAt(s, after, 600_000, () => 0.5).toISOString()).toBe("2026-11-25T03:05:00.000Z");
    expect(scheduledAt(s, after, 600_000, () => 0.9999999).toISOString()).toBe("2026-11-25T03:09:59.999Z");
  });
  it("is the bare cron time without jitter", () => {
    expect(scheduledAt(s, after, 0, () => 0.7).toISOString()).toBe("2026-11-25T03:00:00.000Z");
  });
});
