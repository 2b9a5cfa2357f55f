// The standby's pure parts: change events to standby writes, the state file, --interval.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Timestamp, type ChangeStreamDocument, type Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseInterval, statusLine } from "../../runtime/src/cli/commands/standby.js";
import { ConfigError } from "../../runtime/src/errors.js";
import { toWrite } from "../../runtime/src/standby/follow.js";
import { loadState, saveState } from "../../runtime/src/standby/state.js";

const base = { _id: { _data: "8263" }, clusterTime: new Timestamp({ t: 1_700_000_000, i: 1 }), ns: { db: "shop", coll: "models" }, documentKey: { _id: 7 } };
const event = (e: Document): ChangeStreamDocument<Document> => ({ ...base, ...e }) as unknown as ChangeStreamDocument<Document>;

describe("change events to standby writes", () => {
  it("insert and replace upsert the full document by _id", () => {
    for (const operationType of ["insert", "replace"]) {
      expect(toWrite(event({ operationType, fullDocument: { _id: 7, name: "x" } }))).toEqual({
        ns: "shop.models",
        write: { replaceOne: { filter: { _id: 7 }, replacement: { _id: 7, name: "x" }, upsert: true } },
      });
    }
  });
  it("update writes the looked-up post-image, or deletes when the document is already gone", () => {
    expect(toWrite(event({ operationType: "update", fullDocument: { _id: 7, n: 2 }, updateDescription: { updatedFields: { n: 2 }, removedFields: [] } }))).toEqual({
      ns: "shop.models",
      write: { replaceOne: { filter: { _id: 7 }, replacement: { _id: 7, n: 2 }, upsert: true } },
    });
    expect(toWrite(event({ operationType: "update", fullDocument: null }))).toEqual({ ns: "shop.models", write: { deleteOne: { filter: { _id: 7 } } } });
  });
  it("delete, drop and rename; database-level and unknown events are not mirrored", () => {
    expect(toWrite(event({ operationType: "delete" }))).toEqual({ ns: "shop.models", write: { deleteOne: { filter: { _id: 7 } } } });
    expect(toWrite(event({ operationType: "drop" }))).toEqual({ ns: "shop.models", drop: true });
    expect(toWrite(event({ operationType: "rename", to: { db: "shop", coll: "old_models" } }))).toEqual({ ns: "shop.models", renameTo: "shop.old_models" });
    expect(toWrite(event({ operationType: "dropDatabase", ns: { db: "shop" } }))).toBeUndefined();
    expect(toWrite(event({ operationType: "invalidate", ns: undefined }))).toBeUndefined();
  });
});

describe("standby state file", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-standby-state-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  it("a missing file is the empty state; a saved state reads back equal, resume token included", async () => {
    const file = path.join(root, "sub", "state.json");
    expect(await loadState(file)).toEqual({ version: 1 });
    const state = { version: 1 as const, resumeToken: { _data: "826554A1B2000000012B" }, readAt: "2026-11-24T23:00:00.000Z" };
    await saveState(file, state);
    expect(await loadState(file)).toEqual(state);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(state);
  });
  it("refuses a file that is not a standby state, naming --state", async () => {
    const file = path.join(root, "other.json");
    await writeFile(file, '{"hello": 1}');
    await expect(loadState(file)).rejects.toThrow(new ConfigError("--state", `${file} is not a version 1 standby state file; move it away to start over`));
    await writeFile(file, "not json");
    await expect(loadState(file)).rejects.toThrow(ConfigError);
  });
});

describe("--interval and the status line", () => {
  it("parses seconds, minutes and hours, and sums", () => {
    expect([parseInterval("30s"), parseInterval("5m"), parseInterval("1h"), parseInterval("1m30s")]).toEqual([30_000, 300_000, 3_600_000, 90_000]);
    expect(() => parseInterval("0s")).toThrow('--interval: must be at least 1s, got "0s"');
    expect(() => parseInterval("25d")).toThrow('--interval: must be at most 24d, got "25d"');
    expect(() => parseInterval("60")).toThrow(ConfigError);
  });
  it("prints the lag, or says it is unknown before a first pass", () => {
    const s = { mode: "full-copy" as const, reason: "r", at: "2026-11-24T23:00:00.000Z", applied: 3, namespaces: ["a.b"] };
    expect(statusLine({ ...s, lagSeconds: 12 })).toBe("2026-11-24T23:00:00.000Z full-copy: lag 12 s, 3 change(s) applied, 1 namespace(s)");
    expect(statusLine(s)).toBe("2026-11-24T23:00:00.000Z full-copy: lag unknown, 3 change(s) applied, 1 namespace(s)");
  });
});
