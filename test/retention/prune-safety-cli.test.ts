// Issue 9 items 1 and 2, through the real `cloudsync` process: prune keeps a backup whose manifest
// is damaged (and exits 4 to say so), and never deletes the newest complete backup.
import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { manifestKeyFor, objectKeyFor, sliceManifestKeyFor, sliceObjectKeyFor, type BackupManifest } from "../../runtime/src/manifest/manifest.js";
import { writeManifest } from "../../runtime/src/manifest/store.js";
import { CLI_SKIP, filesUnder, runCli } from "../support/cli.js";

const DAY = 86_400_000;
if (CLI_SKIP) console.warn(`skipping prune safety process tests: ${CLI_SKIP}`);

describe.skipIf(!!CLI_SKIP)("cloudsync prune never deletes what it cannot prove is garbage", () => {
  let root: string;
  const ids: string[] = [];
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-prune-safety-"));
    const dest = createLocalDestination(root);
    ids.length = 0;
    // Three complete backups, 30, 40 and 50 days old: all beyond the default keep-within, none verified.
    for (let i = 0; i < 3; i++) {
      const createdAt = new Date(Date.now() - (30 + i * 10) * DAY);
      const id = `${createdAt.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-00000${i}`;
      const key = objectKeyFor(id, "gzip", "age-x25519");
      await dest.put(key, Readable.from([Buffer.from(`data ${i}`)]));
      await writeManifest(dest, { format: 1, id, createdAt: createdAt.toISOString(), completedAt: createdAt.toISOString(), namespaces: [], object: { key, size: 6, sha256: "0".repeat(64) } } as unknown as BackupManifest);
      const old = new Date(createdAt);
      for (const f of filesUnder(root)) utimesSync(path.join(root, f), old, old);
      ids.push(id);
    }
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("with the default rules and no verification records, the newest complete backup survives", async () => {
    const r = await runCli(["prune", "--from", root, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ keep: Array<{ id: string; reasons: string[] }>; deleted: string[] }>();
    expect(doc.keep).toEqual([{ id: ids[0], reasons: ["newest complete (always kept)"] }]);
    expect([...doc.deleted].sort()).toEqual([ids[2], ids[1]]);
    expect(existsSync(path.join(root, objectKeyFor(ids[0] as string, "gzip", "age-x25519")))).toBe(true);
  });

  it("a damaged manifest keeps its data object, is reported, and the run exits 4", async () => {
    const damaged = ids[1] as string;
    writeFileSync(path.join(root, manifestKeyFor(damaged)), "{bad");
    const old = new Date(Date.now() - 3 * DAY);
    utimesSync(path.join(root, manifestKeyFor(damaged)), old, old);
    const r = await runCli(["prune", "--from", root, "--keep-last", "10"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`warning: ${manifestKeyFor(damaged)} is not a readable manifest: a damaged backup, kept with its data object:`);
    expect(existsSync(path.join(root, objectKeyFor(damaged, "gzip", "age-x25519")))).toBe(true);
    expect(existsSync(path.join(root, manifestKeyFor(damaged)))).toBe(true);
    expect(filesUnder(root).filter((f) => f.startsWith("data/"))).toHaveLength(3);
  });

  it("keeps the only oplog slice (the newest chain segment, object and manifest), and keeps a slice manifest misplaced under manifests/ with its object", async () => {
    const dest = createLocalDestination(root);
    const old = new Date(Date.now() - 60 * DAY);
    // A slice as oplog follow stores it, 60 days old: the only one, so the newest chain segment, which the
    // follower extends; and the unreadable manifest below stops every slice removal anyway.
    const sliceId = `${old.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-0000aa`;
    const sliceKey = sliceObjectKeyFor(sliceId, "gzip", "age-x25519");
    await dest.put(sliceKey, Readable.from([Buffer.from("slice")]));
    const slice = { format: 1, id: sliceId, kind: "oplog-slice", oplog: { after: { t: 1, i: 1 }, first: { t: 2, i: 1 }, last: { t: 3, i: 1 }, entries: 1, previous: null, base: ids[2] }, createdAt: old.toISOString(), completedAt: old.toISOString(), namespaces: [], object: { key: sliceKey, size: 5, sha256: "0".repeat(64) } } as unknown as BackupManifest;
    await writeManifest(dest, slice);
    // The same kind of manifest where backups live (written by hand, or by a newer cloudsync).
    const strayId = `${old.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-0000bb`;
    const strayKey = objectKeyFor(strayId, "gzip", "age-x25519");
    await dest.put(strayKey, Readable.from([Buffer.from("stray")]));
    writeFileSync(path.join(root, manifestKeyFor(strayId)), JSON.stringify({ ...slice, id: strayId, object: { key: strayKey, size: 5, sha256: "0".repeat(64) } }));
    for (const f of filesUnder(root)) utimesSync(path.join(root, f), old, old);
    const before = filesUnder(root).filter((f) => f.startsWith("oplog/"));
    expect(before).toEqual([sliceManifestKeyFor(sliceId), sliceKey].sort());
    const r = await runCli(["prune", "--from", root, "--keep-last", "1"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`warning: ${manifestKeyFor(strayId)} is not a readable manifest: a damaged backup, kept with its data object:`);
    expect(filesUnder(root).filter((f) => f.startsWith("oplog/"))).toEqual(before);
    expect(existsSync(path.join(root, strayKey))).toBe(true);
    expect(existsSync(path.join(root, manifestKeyFor(strayId)))).toBe(true);
  });
});
