// The one duration grammar (runtime/src/config/duration.ts): units, sums, zero, bounds, the
// retention rules that refuse `m`, the formatter, and the settings that carry durations.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/src/config/config.js";
import { checkDuration, DAY, formatDuration, HOUR, MINUTE, parseDuration, RETENTION, SECOND } from "../../runtime/src/config/duration.js";
import { ConfigError } from "../../runtime/src/errors.js";
import { retention } from "../../runtime/src/index.js";
import { agentEnvironment } from "../../infra/agent-container.js";

const UNITS = 'use whole numbers with the units s, m (minutes), h, d, w, mo (months, 30 days) or y (years, 365 days), summed largest first, e.g. 90s, 10m, 1h30m, 7d, 6mo (see Durations in the README)';

describe("parseDuration", () => {
  it.each([
    ["90s", 90 * SECOND],
    ["10m", 10 * MINUTE],
    ["12h", 12 * HOUR],
    ["7d", 7 * DAY],
    ["2w", 14 * DAY],
    ["6mo", 180 * DAY],
    ["1y", 365 * DAY],
    ["1h30m", 90 * MINUTE],
    ["1d12h", 36 * HOUR],
    ["1y6mo", 545 * DAY],
    ["1m30s", 90 * SECOND],
    [" 3d ", 3 * DAY],
    ["007s", 7 * SECOND],
  ])("%j is %d ms", (text, ms) => {
    expect(parseDuration(text, { name: "--x" })).toBe(ms);
  });

  it("reads m as minutes and mo as months (30 days), wherever it is used", () => {
    expect(parseDuration("30m", { name: "--jitter" })).toBe(30 * MINUTE);
    expect(parseDuration("30mo", { name: "--jitter" })).toBe(900 * DAY);
  });

  it.each([
    ["", "empty"],
    ["10", "a number needs a unit"],
    ["30m1h", "units go largest first, each once"],
    ["1d1d", "units go largest first, each once"],
    ["7 days", ""],
    ["7D", ""],
    ["1.5h", ""],
    ["-1d", ""],
    ["250ms", ""],
    ["1M", ""],
    ["d", ""],
    ["1h 30m", ""],
  ])("refuses %j with a ConfigError naming the setting, the text and the accepted units", (text, why) => {
    let err: unknown;
    try {
      parseDuration(text, { name: "CLOUDSYNC_JITTER" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe("CLOUDSYNC_JITTER");
    expect((err as ConfigError).message).toBe(`CLOUDSYNC_JITTER: invalid duration "${text}"${why ? ` (${why})` : ""}; ${UNITS}`);
  });

  it("treats 0 and 0d alike: both accepted where zero is, both refused where it is not", () => {
    for (const zero of ["0", "0d", "0s", "0h0m"]) {
      expect(parseDuration(zero, { name: "--jitter", allowZero: true })).toBe(0);
      expect(() => parseDuration(zero, { name: "--interval" })).toThrow(`--interval: must be at least 1s, got "${zero}"`);
    }
  });

  it("applies min and max, naming them in the grammar's notation", () => {
    expect(() => parseDuration("30m", { name: "--x", min: HOUR })).toThrow('--x: must be at least 1h, got "30m"');
    expect(() => parseDuration("30m", { name: "--x", min: HOUR, allowZero: true })).toThrow('--x: must be 0 or at least 1h, got "30m"');
    expect(() => parseDuration("25d", { name: "--x", max: 24 * DAY })).toThrow('--x: must be at most 24d, got "25d"');
    expect(parseDuration("24d", { name: "--x", max: 24 * DAY })).toBe(24 * DAY);
    expect(() => parseDuration("99999999999999999999y", { name: "--x" })).toThrow('--x: must be at most 365000d, got "99999999999999999999y"');
  });
});

describe("retention durations (RETENTION rules)", () => {
  it("refuse m, saying m is minutes and months are mo, so an old 30m cannot become 30 minutes", () => {
    expect(checkDuration("30m", RETENTION)).toEqual({
      ok: false,
      problem: '"30m" is refused: `m` is minutes; months are `mo` (30mo); a retention time is given in h, d, w, mo or y, never in minutes (m meant months before)',
    });
    expect(checkDuration("1y6m", RETENTION)).toMatchObject({ ok: false, problem: expect.stringContaining("months are `mo` (1y6mo)") });
    expect(checkDuration("2h30m", RETENTION)).toMatchObject({ ok: false });
  });

  it("accept 0 (no time rule) and anything from an hour", () => {
    expect(checkDuration("0", RETENTION)).toEqual({ ok: true, ms: 0 });
    expect(checkDuration("0d", RETENTION)).toEqual({ ok: true, ms: 0 });
    expect(checkDuration("1h", RETENTION)).toEqual({ ok: true, ms: HOUR });
    expect(checkDuration("6mo", RETENTION)).toEqual({ ok: true, ms: 180 * DAY });
    expect(checkDuration("45s", RETENTION)).toEqual({ ok: false, problem: 'must be 0 or at least 1h, got "45s"' });
  });

  it("are what the config's keepWithin is checked with, whatever layer it comes from", () => {
    expect(loadConfig({ env: { CLOUDSYNC_KEEP_WITHIN: "6mo" } }).retention.keepWithin).toBe("6mo");
    expect(loadConfig({ env: { CLOUDSYNC_KEEP_WITHIN: "0" } }).retention.keepWithin).toBe("0");
    expect(() => loadConfig({ env: { CLOUDSYNC_KEEP_WITHIN: "30m" } })).toThrow('CLOUDSYNC_KEEP_WITHIN: "30m" is refused: `m` is minutes; months are `mo` (30mo)');
    expect(() => loadConfig({ env: {}, flags: { keepWithin: "6m" }, flagNames: { keepWithin: "--keep-within" } })).toThrow('--keep-within: "6m" is refused');
  });

  it("accept what the Pulumi stacks pass to the agent (retention days as CLOUDSYNC_KEEP_WITHIN)", () => {
    const env = Object.fromEntries(agentEnvironment({ schedule: "0 3 * * *", retentionDays: 7, recipients: [], backupsDir: "/backups" }).map((l) => l.split(/=(.*)/s, 2) as [string, string]));
    expect(env.CLOUDSYNC_KEEP_WITHIN).toBe("7d");
    expect(parseDuration(env.CLOUDSYNC_KEEP_WITHIN!, { name: "CLOUDSYNC_KEEP_WITHIN", ...RETENTION })).toBe(7 * DAY);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [400, "0s"],
    [1500, "2s"],
    [75 * SECOND, "1m15s"],
    [36 * HOUR, "1d12h"],
    [7 * DAY, "7d"],
    [30 * DAY, "30d"],
    [365 * DAY, "365d"],
    [HOUR + 5 * SECOND, "1h5s"],
  ])("%d ms is %j, in days and smaller so mo and y show what they stand for", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("limits the parts for an ETA, and copes with what a progress bar can compute", () => {
    expect(formatDuration(3725 * SECOND, { parts: 2 })).toBe("1h2m");
    expect(formatDuration(3605 * SECOND, { parts: 2 })).toBe("1h");
    expect(formatDuration(59 * SECOND, { parts: 2 })).toBe("59s");
    expect(formatDuration(-5 * SECOND)).toBe("-5s");
    expect(formatDuration(Infinity)).toBe("?");
  });

  it("writes what parseDuration reads back", () => {
    for (const ms of [SECOND, 90 * SECOND, 36 * HOUR, 545 * DAY, DAY + HOUR + MINUTE + SECOND]) expect(parseDuration(formatDuration(ms), { name: "--x" })).toBe(ms);
  });
});

describe("one grammar", () => {
  it("is the one the library's retention namespace exports", () => {
    expect(retention.parseDuration).toBe(parseDuration);
    expect(retention.formatDuration).toBe(formatDuration);
  });
});
