// Pruning a real local destination: plan first (nothing touched), then execute; the newest
// verified backup survives a flood of newer unverified ones; orphans older than the grace period
// go, younger ones (an upload in progress) stay.
import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { manifestKeyFor, objectKeyFor, type BackupManifest } from "../../runtime/src/manifest/manifest.js";
import { listBackups, writeManifest, writeVerification } from "../../runtime/src/manifest/store.js";
import { executePrune, planDestinationPrune } from "../../runtime/src/retention/prune.js";

const DAY = 86_400_000;
const now = new Date("2026-11-24T12:00:00Z");

function idFor(d: Date, n: number): string {
  return `${d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-${n.toString(16).padStart(6, "0")}`;
}

async function put(dest: Destination, key: string, body: string): Promise<void> {
  await dest.put(key, Readable.from([Buffer.from(body)]));
}

async function addBackup(dest: Destination, createdAt: Date, n: number): Promise<string> {
  const id = idFor(createdAt, n);
  const key = objectKeyFor(id, "gzip", "age-x25519");
  await put(dest, key, `data of ${id}`);
  const manifest = {
    format: 1,
    id,
    createdAt: createdAt.toISOString(),
    completedAt: createdAt.toISOString(),
    namespaces: [],
    object: { key, size: 10, sha256: "0".repeat(64) },
  } as unknown as BackupManifest;
  await writeManifest(dest, manifest);
  return id;
}

async function exists(dest: Destination, key: string): Promise<boolean> {
  try {
    await dest.head(key);
    return true;
  } catch {
    return false;
  }
}

describe("planDestinationPrune / executePrune on a local destination", () => {
  let root: string;
  let dest: Destination;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-prune-"));
    dest = createLocalDestination(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("plans without touching anything, then deletes exactly the plan's removals and old orphans", async () => {
    const good = await addBackup(dest, new Date(now.getTime() - 20 * DAY), 1);
    await writeVerification(dest, { id: good, verifiedAt: new Date(now.getTime() - 19 * DAY).toISOString(), ok: true, level: "restore-drill", detail: {} });
    const junk: string[] = [];
    for (let i = 0; i < 6; i++) junk.push(await addBackup(dest, new Date(now.getTime() - (i + 1) * 3_600_000), 100 + i));
    const older = await addBackup(dest, new Date(now.getTime() - 30 * DAY), 2);
    await put(dest, "data/20261101T000000Z-deadbe.archive.gz.age", "orphan from an interrupted backup");
    const oldTime = new Date(now.getTime() - 3 * DAY);
    await utimes(path.join(root, "data/20261101T000000Z-deadbe.archive.gz.age"), oldTime, oldTime);
    await put(dest, "data/20261124T115900Z-abcdef.archive.gz.age", "an upload in progress");
    await utimes(path.join(root, "data/20261124T115900Z-abcdef.archive.gz.age"), now, now);

    const planned = await planDestinationPrune(dest, { keepLast: 3 }, now);
    expect(planned.plan.keep).toEqual([
      { id: junk[0], reasons: ["last 1/3"] },
      { id: junk[1], reasons: ["last 2/3"] },
      { id: junk[2], reasons: ["last 3/3"] },
      { id: good, reasons: ["newest verified (restore-drill)"] },
    ]);
    expect(planned.plan.remove.map((r) => r.id)).toEqual([junk[3], junk[4], junk[5], older]);
    expect(planned.orphans.map((o) => o.key)).toEqual(["data/20261101T000000Z-deadbe.archive.gz.age"]);
    expect(planned.problems).toEqual([]);
    // Planning is a dry run: all 8 backups and both stray objects are still there.
    expect((await listBackups(dest)).length).toBe(8);
    expect(await exists(dest, "data/20261101T000000Z-deadbe.archive.gz.age")).toBe(true);

    const outcome = await executePrune(dest, planned);
    expect(outcome).toEqual({ deleted: [older, junk[5], junk[4], junk[3]], slicesDeleted: [], orphansDeleted: ["data/20261101T000000Z-deadbe.archive.gz.age"] });
    expect((await listBackups(dest)).map((e) => e.manifest.id)).toEqual([junk[0], junk[1], junk[2], good]);
    for (const id of [older, junk[3] as string]) {
      expect(await exists(dest, manifestKeyFor(id))).toBe(false);
      expect(await exists(dest, objectKeyFor(id, "gzip", "age-x25519"))).toBe(false);
    }
    expect(await exists(dest, "data/20261124T115900Z-abcdef.archive.gz.age")).toBe(true);

    // Idempotent: a second run with the same policy removes nothing more.
    const again = await planDestinationPrune(dest, { keepLast: 3 }, now);
    expect(again.plan.remove).toEqual([]);
    expect(await executePrune(dest, again)).toEqual({ deleted: [], slicesDeleted: [], orphansDeleted: [] });
  });

  it("an unreadable manifest is reported and never deleted", async () => {
    await addBackup(dest, new Date(now.getTime() - DAY), 1);
    await put(dest, "manifests/20261101T000000Z-000bad.json", "{ not json");
    const planned = await planDestinationPrune(dest, { keepLast: 1 }, now);
    expect(planned.problems).toHaveLength(1);
    expect(planned.problems[0]?.key).toBe("manifests/20261101T000000Z-000bad.json");
    await executePrune(dest, planned);
    expect(await exists(dest, "manifests/20261101T000000Z-000bad.json")).toBe(true);
  });
});
