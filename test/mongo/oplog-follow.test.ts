// The follower's pieces that need no server: reading an entry's ts from raw BSON past every kind
// of field before it, where capture resumes (a kill between a slice's manifest and the state file
// must not store that slice again), and its refusals of a foreign or damaged state file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Binary, BSON, BSONRegExp, Code, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from "mongodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { ConfigError, NotFoundError } from "../../runtime/src/errors.js";
import { writeManifest } from "../../runtime/src/manifest/store.js";
import type { BackupManifest, OplogSliceInfo } from "../../runtime/src/manifest/manifest.js";
import { rawTime } from "../../runtime/src/mongo/oplog-tail.js";
import { loadFollowState, resumePoint } from "../../runtime/src/pipeline/oplog-follow.js";

describe("rawTime", () => {
  it("finds ts after fields of every BSON type", () => {
    const doc = {
      d: new Double(1.5), s: "text", o: { nested: [1, { x: "y" }] }, a: [1, 2], b: new Binary(Buffer.from([1, 2, 3]), 0), u: new UUID(),
      undef: undefined, oid: new ObjectId(), bool: true, date: new Date(), nul: null, re: new BSONRegExp("a.b", "i"), code: new Code("x"),
      i32: new Int32(7), other: new Timestamp({ t: 1, i: 2 }), i64: new Long(9), dec: Decimal128.fromString("1.1"), min: new MinKey(), max: new MaxKey(),
      ts: new Timestamp({ t: 0xfffffff0, i: 0xfffffffe }),
    };
    expect(rawTime(BSON.serialize(doc, { ignoreUndefined: false }))).toEqual({ t: 0xfffffff0, i: 0xfffffffe });
  });
  it("refuses an entry without ts", () => {
    expect(() => rawTime(BSON.serialize({ op: "n" }))).toThrow("oplog entry without a ts timestamp");
  });
});

describe("where capture resumes", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cloudsync-follow-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const base = (id: string, end: { t: number; i: number }): BackupManifest =>
    ({ format: 1, id, createdAt: "2026-12-01T00:00:00.000Z", completedAt: "2026-12-01T00:00:01.000Z", consistency: { mode: "oplog-window", detail: { oplogIncluded: true, oplogWindow: { start: { t: 1, i: 1 }, end } } }, namespaces: [], object: { key: `data/${id}.archive`, size: 1, sha256: "0".repeat(64) } }) as unknown as BackupManifest;
  const slice = (id: string, oplog: OplogSliceInfo): BackupManifest =>
    ({ format: 1, id, kind: "oplog-slice", oplog, createdAt: "2026-12-01T00:01:00.000Z", completedAt: "2026-12-01T00:01:01.000Z", consistency: { mode: "archive" }, namespaces: [], object: { key: `oplog/data/${id}.oplog.archive`, size: 1, sha256: "0".repeat(64) } }) as unknown as BackupManifest;

  it("starts at the newest base backup's oplog end, and refuses without one (exit 3)", async () => {
    const dest = createLocalDestination(root);
    await expect(resumePoint(dest, undefined)).rejects.toThrow(NotFoundError);
    await expect(resumePoint(dest, undefined)).rejects.toThrow(`no base backup with an oplog window in ${dest.url}: make one with \`cloudsync backup --oplog --to ${dest.url}\` first`);
    await writeManifest(dest, base("20261201T000000Z-aaaaaa", { t: 100, i: 3 }));
    expect(await resumePoint(dest, undefined)).toEqual({ position: { t: 100, i: 3 }, lastSlice: null, base: "20261201T000000Z-aaaaaa", from: "base backup 20261201T000000Z-aaaaaa" });
  });

  it("walks past slices stored after the state file was written (killed between manifest and state)", async () => {
    const dest = createLocalDestination(root);
    await writeManifest(dest, base("20261201T000000Z-aaaaaa", { t: 100, i: 3 }));
    await writeManifest(dest, slice("20261201T000100Z-000001", { after: { t: 100, i: 3 }, first: { t: 101, i: 1 }, last: { t: 105, i: 2 }, entries: 4, previous: null, base: "20261201T000000Z-aaaaaa" }));
    await writeManifest(dest, slice("20261201T000200Z-000002", { after: { t: 105, i: 2 }, first: { t: 106, i: 1 }, last: { t: 110, i: 1 }, entries: 2, previous: "20261201T000100Z-000001", base: "20261201T000000Z-aaaaaa" }));
    const state = { format: 1 as const, destination: dest.url, position: { t: 105, i: 2 }, lastSlice: "20261201T000100Z-000001", base: "20261201T000000Z-aaaaaa" };
    expect(await resumePoint(dest, state)).toMatchObject({ position: { t: 110, i: 1 }, lastSlice: "20261201T000200Z-000002" });
    // A state from before the first slice walks the whole chain.
    expect(await resumePoint(dest, { ...state, position: { t: 100, i: 3 }, lastSlice: null })).toMatchObject({ position: { t: 110, i: 1 }, lastSlice: "20261201T000200Z-000002" });
    // Without a state file: after the newest slice.
    expect(await resumePoint(dest, undefined)).toMatchObject({ position: { t: 110, i: 1 }, lastSlice: "20261201T000200Z-000002" });
  });

  it("refuses a state file of another destination, or one that is not a state file (exit 2)", async () => {
    const file = join(root, "state.json");
    writeFileSync(file, JSON.stringify({ format: 1, destination: "/elsewhere", position: { t: 1, i: 1 }, lastSlice: null, base: "x" }));
    await expect(loadFollowState(file, "/here")).rejects.toThrow(new ConfigError("--state", `${file} follows the oplog into /elsewhere, not /here; give each destination its own --state`));
    writeFileSync(file, "{nope");
    await expect(loadFollowState(file, "/here")).rejects.toThrow(ConfigError);
    expect(await loadFollowState(join(root, "absent.json"), "/here")).toBeUndefined();
  });
});
