// `cloudsync prune` and oplog slices, as processes, on a real local directory and on the real S3
// server (issue 15 §4). Base backups and slices are stored by the real writer (runBackupPipeline,
// as `backup --oplog` and `oplog follow` store them; a clock set back gives them their ages),
// slices holding real oplog entries. After the prune: the removed slices' manifests and objects
// are gone, `restore --to-time --dry-run` plans (and reads every slice of) the start and end of
// every kept base's window, a time only the pruned base reached is refused, `oplog verify` finds
// an unbroken chain, and a second prune removes nothing.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { serialize, Timestamp } from "bson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { generateAgeIdentity } from "../../runtime/src/crypto/index.js";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { createS3Destination } from "../../runtime/src/destinations/s3.js";
import { NotFoundError } from "../../runtime/src/errors.js";
import { formatTime, sliceManifestKeyFor, sliceObjectKeyFor, type OplogSliceInfo, type OplogTime } from "../../runtime/src/manifest/manifest.js";
import { listSlices, type SliceManifest } from "../../runtime/src/manifest/slices.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { runBackupPipeline } from "../../runtime/src/pipeline/backup.js";
import { loadConfig } from "../../runtime/src/config/config.js";
import { planEncryption, type EncryptionPlan } from "../../runtime/src/pipeline/encryption.js";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { createTestBucket, deleteTestBucket, s3SkipReason, s3TestOptions } from "../support/s3-service.js";
import { testServers } from "../support/servers.js";
import { DAY, SLOW } from "./helpers.js";

const target = testServers().find((s) => !s.absent);
const skip = CLI_SKIP ?? (target ? undefined : "no MongoDB test server started (restore --to-time --dry-run connects to its target)");
if (skip) console.warn(`skipping slice prune CLI tests: ${skip}`);

/** Oplog seconds `days` days before `nowMs`. */
const secondsAgo = (nowMs: number, days: number): number => Math.floor((nowMs - days * DAY) / 1000);

/** An oplog no-op entry at `ts`, as a mongod writes one. */
function entry(ts: OplogTime): Uint8Array {
  return serialize({ op: "n", ns: "", o: { msg: "periodic noop" }, ts: new Timestamp({ t: ts.t, i: ts.i }), t: 1, v: 2, wall: new Date(ts.t * 1000) });
}

const HEADER = { version: "0.1", serverVersion: "8.0.4", toolVersion: "cloudsync test" };
const OPLOG_META = { db: "", collection: "oplog", metadata: "", size: 0 };

/** What a destination is seeded with. */
interface Seeded {
  readonly bases: { old: string; middle: string; recent: string };
  readonly ends: { old: OplogTime; middle: OplogTime; recent: OplogTime };
  /** Slices in oplog order: z (a segment of its own), a1..a4 (the middle base's chain), b1 (after a gap, with the recent base), b2. */
  readonly slices: SliceManifest[];
}

/** A base backup made `daysAgo`, as `backup --oplog` stores it: data, its own `.oplog` entries, its window. */
async function storeBase(dest: Destination, encryption: EncryptionPlan, nowMs: number, daysAgo: number, end: OplogTime): Promise<string> {
  const at = new Date(nowMs - daysAgo * DAY);
  const start = { t: end.t - 2, i: 1 };
  const items = [1, 2, 3].map((n) => serialize({ _id: n, name: `item ${n}` }));
  const r = await runBackupPipeline({
    source: writeArchive({ header: HEADER, namespaces: [{ meta: { db: "shop", collection: "items", metadata: "", size: 0 }, documents: items }, { meta: OPLOG_META, documents: [entry(start), entry(end)] }] }),
    sourceInfo: { kind: "mongodb", description: "mongodb://db1:27017/" },
    consistency: () => ({ mode: "oplog-window", detail: { topology: "replicaSet", oplogIncluded: true, oplogWindow: { start, end }, reasons: [] } }),
    destination: dest,
    compression: { algorithm: "gzip", level: 1 },
    encryption,
    now: () => at,
  });
  return r.manifest.id;
}

/** A slice as `oplog follow` stores it, a minute after its last entry: entries `first`..`last` (one a day in between). */
async function storeSlice(dest: Destination, encryption: EncryptionPlan, info: Omit<OplogSliceInfo, "entries">): Promise<SliceManifest> {
  const docs = [entry(info.first)];
  for (let t = info.first.t + 86_400; t < info.last.t; t += 86_400) docs.push(entry({ t, i: 1 }));
  if (info.last.t !== info.first.t || info.last.i !== info.first.i) docs.push(entry(info.last));
  const at = new Date(info.last.t * 1000 + 60_000);
  const r = await runBackupPipeline({
    source: writeArchive({ header: HEADER, namespaces: [{ meta: OPLOG_META, documents: docs }] }),
    sourceInfo: { kind: "mongodb", description: "mongodb://db1:27017/" },
    consistency: () => ({ mode: "oplog-window", detail: { oplogWindow: { start: info.first, end: info.last } } }),
    destination: dest,
    compression: { algorithm: "gzip", level: 1 },
    encryption,
    slice: { ...info, entries: docs.length },
    now: () => at,
  });
  return r.manifest as SliceManifest;
}

/**
 * Three bases (47, 20 and 3 days old, each started shortly before its oplog end) and three chain
 * segments: z alone (holding the old base's end), then after a gap a1..a4 (the middle base's end
 * inside a3), then after a second gap b1, b2 (the newest, the recent base's end inside b1).
 */
async function seed(dest: Destination, encryption: EncryptionPlan, nowMs: number): Promise<Seeded> {
  const t = (days: number, i = 1): OplogTime => ({ t: secondsAgo(nowMs, days), i });
  const ends = { old: t(47), middle: t(20), recent: t(3) };
  const old = await storeBase(dest, encryption, nowMs, 47.01, ends.old);
  const middle = await storeBase(dest, encryption, nowMs, 20.01, ends.middle);
  const recent = await storeBase(dest, encryption, nowMs, 3.01, ends.recent);
  const slices: SliceManifest[] = [];
  const next = async (first: OplogTime, last: OplogTime, opts: { gap?: boolean; after?: OplogTime } = {}): Promise<void> => {
    const prev = slices.at(-1);
    const after = opts.after ?? prev!.oplog.last;
    slices.push(await storeSlice(dest, encryption, { after, first, last, previous: prev?.id ?? null, base: old, ...(opts.gap ? { gap: { from: after, to: first } } : {}) }));
  };
  await next(t(47, 2), t(45), { after: ends.old });
  await next(t(30), t(26), { gap: true });
  await next(t(26, 2), t(22));
  await next(t(22, 2), t(18));
  await next(t(18, 2), t(10));
  await next(t(4), t(2.5), { gap: true });
  await next(t(2.5, 2), t(2));
  return { bases: { old, middle, recent }, ends, slices };
}

async function exists(dest: Destination, key: string): Promise<boolean> {
  try {
    await dest.head(key);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

interface PruneDoc {
  deleted: string[];
  slicesDeleted: string[];
  orphansDeleted: string[];
  slices: { remove: Array<{ id: string; first: { ts: string; iso: string }; last: { ts: string }; reason: string }>; keep: Array<{ id: string; reason: string }>; windows: Array<{ base: string; from: { ts: string }; to: { ts: string }; slices: number }> };
}

/** The whole scenario against one destination: `spec` as the CLI takes it, `dest` to seed and inspect it, `env` for the processes. */
function scenario(name: string, open: () => Promise<{ spec: string; dest: Destination; env: Record<string, string> }>, cleanup: () => Promise<void>, extra?: (ctx: () => { spec: string; dest: Destination; env: Record<string, string>; work: string }) => void, unavailable?: string): void {
  const why = skip ?? unavailable;
  describe.skipIf(!!why)(`prune with oplog slices on ${name} (restores planned against ${target?.name ?? "none"})${why ? ` (skipped: ${why})` : ""}`, () => {
    let work: string;
    let identityFile: string;
    let spec: string;
    let dest: Destination;
    let env: Record<string, string>;
    let seeded: Seeded;
    const nowMs = Date.now();

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "cloudsync-slice-prune-"));
      ({ spec, dest, env } = await open());
      const id = generateAgeIdentity();
      identityFile = join(work, "identity.txt");
      writeFileSync(identityFile, `${id.identity.reveal()}\n`);
      const encryption = await planEncryption(loadConfig({ env: {}, flags: { recipients: [id.recipient] } }));
      seeded = await seed(dest, encryption, nowMs);
    }, SLOW);
    afterAll(async () => {
      await cleanup();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const prune = (args: string[]) => runCli(["--json", "prune", "--from", spec, "--keep-last", "2", "--keep-within", "0", ...args], { env });
    const restoreDry = (time: string) => runCli(["restore", "--to-time", time, "--from", spec, "--to", target!.uri, "-i", identityFile, "--dry-run", "--json"], { env, timeoutMs: 60_000 });

    it("--dry-run lists the slices it would delete with their reason and times, and the windows that stay; deletes nothing", async () => {
      const r = await prune(["--dry-run"]);
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<PruneDoc>();
      const [, , , a3, a4, b1, b2] = seeded.slices.map((s) => s.id);
      expect(doc.slices.remove.map((x) => [x.id, x.first.ts, x.last.ts])).toEqual(seeded.slices.slice(0, 3).map((s) => [s.id, formatTime(s.oplog.first), formatTime(s.oplog.last)]));
      expect(doc.slices.remove.map((x) => x.reason)).toEqual([
        `its chain segment (${formatTime(seeded.ends.old)} to ${formatTime(seeded.slices[0]!.oplog.last)}) ends before the oplog end of every kept base, and no kept base's window starts in it`,
        `every entry is at or before ${formatTime(seeded.ends.middle)}, the oplog end of base ${seeded.bases.middle}, the oldest kept base in its chain segment`,
        `every entry is at or before ${formatTime(seeded.ends.middle)}, the oplog end of base ${seeded.bases.middle}, the oldest kept base in its chain segment`,
      ]);
      expect(doc.slices.keep.map((k) => k.id)).toEqual([a3, a4, b1, b2]);
      expect(doc.slices.windows).toEqual([
        { base: seeded.bases.recent, from: { ts: formatTime(seeded.ends.recent), iso: expect.any(String) }, to: { ts: formatTime(seeded.slices[6]!.oplog.last), iso: expect.any(String) }, slices: 2 },
        { base: seeded.bases.middle, from: { ts: formatTime(seeded.ends.middle), iso: expect.any(String) }, to: { ts: formatTime(seeded.slices[4]!.oplog.last), iso: expect.any(String) }, slices: 2 },
      ]);
      expect(doc.deleted).toEqual([]);
      expect(doc.slicesDeleted).toEqual([]);
      expect((await listSlices(dest)).length).toBe(7);
      const text = await runCli(["prune", "--from", spec, "--keep-last", "2", "--keep-within", "0", "--dry-run"], { env });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain("oplog slices: 3 to delete, 4 kept");
      expect(text.stdout).toContain(`  base ${seeded.bases.middle}: ${formatTime(seeded.ends.middle)} (`);
      expect(text.stdout).toContain("restorable windows after the prune:");
      expect(text.stdout.trimEnd().endsWith("dry run: would delete 1 backup(s), 3 oplog slice(s) and 0 orphan(s); nothing was deleted")).toBe(true);
    }, SLOW);

    it("deletes the slices (manifest and object) and the pruned base; every kept window still plans a restore at its start and end", async () => {
      const r = await prune([]);
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<PruneDoc>();
      const gone = seeded.slices.slice(0, 3);
      expect(doc.deleted).toEqual([seeded.bases.old]);
      expect(doc.slicesDeleted).toEqual(gone.map((s) => s.id));
      for (const s of gone) {
        expect(await exists(dest, sliceManifestKeyFor(s.id)), s.id).toBe(false);
        expect(await exists(dest, s.object.key), s.id).toBe(false);
      }
      expect((await listSlices(dest)).map((s) => s.id)).toEqual(seeded.slices.slice(3).map((s) => s.id));
      expect((await listBackups(dest)).map((e) => e.manifest.id)).toEqual([seeded.bases.recent, seeded.bases.middle]);
      for (const w of doc.slices.windows) {
        for (const time of [w.from.ts, w.to.ts]) {
          const plan = await restoreDry(time);
          expect(plan.code, `${time}: ${plan.stderr}`).toBe(0);
          expect(plan.json<{ base: { id: string } }>().base.id, time).toBe(w.base);
        }
      }
      // A time only the pruned base reached is refused now, naming the nearest restorable time.
      const refused = await restoreDry(formatTime({ t: seeded.ends.old.t + 3600, i: 1 }));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("is before the oplog end of every base backup");
      // The chain that stays has no break pruning made.
      const verified = await runCli(["oplog", "verify", "--from", spec, "-i", identityFile, "--json"], { env, timeoutMs: 60_000 });
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.json<{ ok: boolean; problems: unknown[]; level: string }>()).toMatchObject({ ok: true, problems: [], level: "read" });
    }, SLOW);

    it("is idempotent: a second run removes nothing more", async () => {
      const r = await prune([]);
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<PruneDoc>();
      expect({ deleted: doc.deleted, slicesDeleted: doc.slicesDeleted, orphansDeleted: doc.orphansDeleted }).toEqual({ deleted: [], slicesDeleted: [], orphansDeleted: [] });
      expect((await listSlices(dest)).length).toBe(4);
    }, SLOW);

    extra?.(() => ({ spec, dest, env, work }));
  });
}

// A real local directory: also the orphans under oplog/data/ (file times can be set back here).
let localRoot: string | undefined;
scenario(
  "a local directory",
  async () => {
    localRoot = mkdtempSync(join(tmpdir(), "cloudsync-slice-prune-dest-"));
    return { spec: localRoot, dest: createLocalDestination(localRoot), env: {} };
  },
  async () => {
    if (localRoot) rmSync(localRoot, { recursive: true, force: true });
  },
  (ctx) => {
    it("removes a slice data object with no manifest once older than a day, keeps a young one and one whose manifest cannot be read, and an unreadable slice manifest stops every slice removal (exit 4)", async () => {
      const { spec, dest, env } = ctx();
      const oldId = "20261101T000000Z-0a0a0a";
      const youngId = "20261101T000000Z-0b0b0b";
      const damagedId = "20261101T000000Z-0c0c0c";
      for (const id of [oldId, youngId, damagedId]) await dest.put(sliceObjectKeyFor(id, "gzip", "age-x25519"), Readable.from([Buffer.from(`slice ${id}`)]));
      await dest.put(sliceManifestKeyFor(damagedId), Readable.from([Buffer.from("{ not json")]));
      const past = new Date(Date.now() - 3 * DAY);
      for (const id of [oldId, damagedId]) utimesSync(join(spec, sliceObjectKeyFor(id, "gzip", "age-x25519")), past, past);
      const r = await runCli(["--json", "prune", "--from", spec, "--keep-last", "1", "--keep-within", "0"], { env });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`warning: ${sliceManifestKeyFor(damagedId)} is not a readable oplog slice manifest: a damaged slice, kept with its data object, and no slice is deleted while it is there:`);
      const doc = r.json<PruneDoc & { slices: { blocked?: string } }>();
      expect(doc.orphansDeleted).toEqual([sliceObjectKeyFor(oldId, "gzip", "age-x25519")]);
      // keep-last 1 would free the middle base's window, but nothing goes while a slice manifest is unreadable.
      expect(doc.slicesDeleted).toEqual([]);
      expect(doc.slices.blocked).toContain(`slice manifest ${sliceManifestKeyFor(damagedId)} cannot be read`);
      expect((await listSlices(dest)).length).toBe(4);
      expect(await exists(dest, sliceObjectKeyFor(youngId, "gzip", "age-x25519"))).toBe(true);
      expect(await exists(dest, sliceObjectKeyFor(damagedId, "gzip", "age-x25519"))).toBe(true);
      expect(await exists(dest, sliceManifestKeyFor(damagedId))).toBe(true);
    }, SLOW);
  },
);

// The real S3 server (Ceph RGW from the global setup), a versioned bucket with a key prefix.
const s3Skip = s3SkipReason();
if (s3Skip) console.warn(`skipping slice prune CLI tests on S3: ${s3Skip}`);
let bucket: string | undefined;
scenario(
  "the real S3 server",
  async () => {
    bucket = await createTestBucket("slice-prune", { versioning: true });
    const env = {
      CLOUDSYNC_S3_ENDPOINT: process.env.S3_TEST_ENDPOINT!,
      AWS_ACCESS_KEY_ID: process.env.S3_TEST_ACCESS_KEY!,
      AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_SECRET_KEY!,
      AWS_REGION: process.env.S3_TEST_REGION || "us-east-1",
    };
    return { spec: `s3://${bucket}/home/mongo`, dest: createS3Destination({ ...s3TestOptions(bucket)!, prefix: "home/mongo" }), env };
  },
  async () => {
    if (bucket) await deleteTestBucket(bucket);
  },
  undefined,
  s3Skip,
);
