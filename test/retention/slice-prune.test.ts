// planDestinationPrune / executePrune with oplog slices on a real local destination: slices are
// deleted oldest first, each manifest before its object, so a prune that fails between the two
// leaves an unlisted data object, which the next run (once the grace period has passed) removes
// as an orphan; the chain left is never listed with a slice whose data is gone. The daemon's prune
// stage prunes slices the same way.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { serialize, Timestamp } from "bson";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { pruneStage, type RunPlan } from "../../runtime/src/daemon/jobs.js";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { RemoteError } from "../../runtime/src/errors.js";
import { sliceManifestKeyFor, type OplogTime } from "../../runtime/src/manifest/manifest.js";
import { listSlices, type SliceManifest } from "../../runtime/src/manifest/slices.js";
import { runBackupPipeline } from "../../runtime/src/pipeline/backup.js";
import type { EncryptionPlan } from "../../runtime/src/pipeline/encryption.js";
import { executePrune, planDestinationPrune } from "../../runtime/src/retention/prune.js";
import { DAY } from "./helpers.js";

const none: EncryptionPlan = { manifest: { scheme: "none", recipients: [] }, create: () => undefined };
const oplogMeta = { db: "", collection: "oplog", metadata: "", size: 0 };
const header = { version: "0.1", serverVersion: "8.0.4", toolVersion: "cloudsync test" };
const entry = (ts: OplogTime): Uint8Array => serialize({ op: "n", ns: "", o: { msg: "noop" }, ts: new Timestamp({ t: ts.t, i: ts.i }), v: 2 });

/** A destination whose `delete` of `key` fails once, as a remote that drops the connection would. */
function failingOnce(dest: Destination, key: () => string | undefined): Destination {
  let failed = false;
  return {
    ...dest,
    url: dest.url,
    put: dest.put.bind(dest),
    get: dest.get.bind(dest),
    head: dest.head.bind(dest),
    list: dest.list.bind(dest),
    delete: async (k: string) => {
      if (!failed && k === key()) {
        failed = true;
        throw new RemoteError(`delete ${k}`, "connection reset");
      }
      return dest.delete(k);
    },
  };
}

describe("executePrune with oplog slices on a local destination", () => {
  let root: string;
  let dest: Destination;
  const now = new Date();
  const t = (days: number, i = 1): OplogTime => ({ t: Math.floor((now.getTime() - days * DAY) / 1000), i });

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-slice-prune-"));
    dest = createLocalDestination(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function store(after: OplogTime, first: OplogTime, last: OplogTime, previous: SliceManifest | undefined, gap = false): Promise<SliceManifest> {
    const at = new Date(last.t * 1000 + 60_000);
    const r = await runBackupPipeline({
      source: writeArchive({ header, namespaces: [{ meta: oplogMeta, documents: [entry(first), entry(last)] }] }),
      sourceInfo: { kind: "mongodb", description: "test" },
      destination: dest,
      compression: { algorithm: "none" },
      encryption: none,
      slice: { after, first, last, entries: 2, previous: previous?.id ?? null, base: "b", ...(gap ? { gap: { from: after, to: first } } : {}) },
      now: () => at,
    });
    return r.manifest as SliceManifest;
  }

  it("an interruption between a slice's manifest and its object leaves an orphan the next run removes, never a listed slice without data", async () => {
    // Two old segments no base uses, then the newest one: everything but the newest goes.
    const s1 = await store(t(40), t(40, 2), t(35), undefined);
    const s2 = await store(s1.oplog.last, t(35, 2), t(30), s1);
    const s3 = await store(s2.oplog.last, t(5), t(4), s2, true);
    const planned = await planDestinationPrune(dest, { keepLast: 1 }, now);
    expect(planned.slices.remove.map((r) => r.id)).toEqual([s1.id, s2.id]);

    // The second slice's object cannot be deleted: its manifest is already gone, the first slice is gone whole.
    const flaky = failingOnce(dest, () => s2.object.key);
    await expect(executePrune(flaky, planned)).rejects.toThrow(`delete ${s2.object.key}: connection reset`);
    expect((await listSlices(dest)).map((s) => s.id)).toEqual([s3.id]);
    await expect(dest.head(sliceManifestKeyFor(s2.id))).rejects.toThrow();
    expect((await dest.head(s2.object.key)).size).toBe(s2.object.size);

    // The leftover is an orphan once older than the grace period (its file time is now), not before.
    const soon = await planDestinationPrune(dest, { keepLast: 1 }, now);
    expect(soon.orphans).toEqual([]);
    const later = await planDestinationPrune(dest, { keepLast: 1 }, new Date(now.getTime() + 2 * DAY));
    expect(later.orphans.map((o) => [o.key, o.reason])).toEqual([[s2.object.key, "oplog slice data object without a manifest (an interrupted capture, or a prune interrupted after the slice's manifest)"]]);
    expect(later.slices.remove).toEqual([]);
    const outcome = await executePrune(dest, later);
    expect(outcome).toEqual({ deleted: [], slicesDeleted: [], orphansDeleted: [s2.object.key] });
    await expect(dest.head(s2.object.key)).rejects.toThrow();
    expect((await listSlices(dest)).map((s) => s.id)).toEqual([s3.id]);
  });

  it("the daemon's prune stage deletes the same slices", async () => {
    const s1 = await store(t(40), t(40, 2), t(35), undefined);
    const s2 = await store(s1.oplog.last, t(35, 2), t(30), s1);
    const s3 = await store(s2.oplog.last, t(5), t(4), s2, true);
    const lines: string[] = [];
    const result = await pruneStage({ destination: dest, retention: { keepLast: 1 }, log: (l: string) => lines.push(l) } as unknown as RunPlan);
    expect(result.detail).toMatchObject({ kept: 0, deleted: [], slicesDeleted: [s1.id, s2.id], orphansDeleted: [] });
    expect((await listSlices(dest)).map((s) => s.id)).toEqual([s3.id]);
    for (const s of [s1, s2]) await expect(dest.head(s.object.key)).rejects.toThrow();
    expect(lines).toEqual([]);
  });
});
