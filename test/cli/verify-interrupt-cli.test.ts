/**
 * Ctrl-C and SIGTERM stop `cloudsync verify` while it reads a backup back (issue 9, items 7 and
 * 12): a real process gets a real signal once its local copy of the object is complete (so the
 * read-back has begun), or once gpg is decrypting. It stops there, stores no verification record,
 * leaves no temporary file or gpg process, and exits 130 with the CLI's plain interrupt message;
 * `restore --dry-run`, which runs the same read-back, likewise. `verify --restore-to` (the restore
 * drill) stops at the next batch, drops its own scratch databases where the server can, and says
 * what it had written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, filesUnder } from "../support/cli.js";
import { GPG_SKIP } from "../support/gpg.js";
import { isJongodb, mongoSkipReason, mongoTestUri } from "../support/mongo-service.js";
import { ageDemoBackup, backupOf, gpgDemoBackup, spoolReadPosition, writePlainDemoArchive, type AgeDemoBackup, gpgDecrypting, interrupted, processesMentioning, type Finished } from "../support/interrupt.js";

if (CLI_SKIP) console.warn(`skipping verify interrupt process tests: ${CLI_SKIP}`);
if (GPG_SKIP) console.warn(`skipping the OpenPGP verify interrupt test: ${GPG_SKIP}`);
const MONGO_SKIP = CLI_SKIP ?? mongoSkipReason();
if (MONGO_SKIP) console.warn(`skipping the restore drill interrupt test: ${MONGO_SKIP}`);

/** Large enough that the read-back takes seconds, so the signal lands while it reads. */
const ARCHIVE_BYTES = 128 * 1024 * 1024;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** True once a spool directory under `tmp` holds a complete copy of a `size`-byte object. */
function copied(tmp: string, size: number): () => boolean {
  return () =>
    readdirSync(tmp)
      .filter((n) => n.startsWith("cloudsync-restore-"))
      .some((d) => {
        const object = join(tmp, d, "object");
        return existsSync(object) && statSync(object).size === size;
      });
}

/** The stored object's size, from the backup's manifest. */
function objectSize(dest: string, id: string): number {
  return (JSON.parse(readFileSync(join(dest, "manifests", `${id}.json`), "utf8")) as { object: { size: number } }).object.size;
}

/** What every interrupted read-back must show: 130, the plain message, no result, no record, no temp files. */
function expectStoppedCleanly(end: Finished, dest: string, tmp: string): void {
  expect(end.code, end.stderr).toBe(130);
  expect(end.signal).toBeNull();
  expect(end.stdout).toBe("");
  expect(end.stderr).toMatch(/^cloudsync: interrupted; nothing was written$/m);
  expect(end.stderr).not.toMatch(/please report/);
  expect(end.stderr).not.toMatch(/verified|would restore/);
  expect(filesUnder(dest).filter((f) => f.startsWith("verifications/"))).toEqual([]);
  expect(readdirSync(tmp)).toEqual([]);
}

describe.skipIf(!!CLI_SKIP)("an interrupted verify stops its read-back and records nothing, as a process receiving real signals", () => {
  let demo: AgeDemoBackup;
  let fresh = 0;

  /** A new private TMPDIR for the command's spool. */
  function scratchTmp(): string {
    fresh += 1;
    const tmp = join(demo.work, `tmp-${fresh}`);
    mkdirSync(tmp);
    return tmp;
  }

  beforeAll(async () => {
    demo = await ageDemoBackup("verify-interrupt", ARCHIVE_BYTES, 12);
  }, 300_000);
  afterAll(() => {
    if (demo.work) rmSync(demo.work, { recursive: true, force: true });
  });

  for (const sig of SIGNALS) {
    it(`age: ${sig} during the read-back → exit 130, no verification record, no temp files`, async () => {
      const tmp = scratchTmp();
      const end = await interrupted(["verify", demo.id, "--from", demo.dest, "-i", demo.identity], { ...demo.env, TMPDIR: tmp }, copied(tmp, objectSize(demo.dest, demo.id)), "the read-back began", sig);
      expectStoppedCleanly(end, demo.dest, tmp);
    }, 300_000);
  }

  it("restore --dry-run: SIGINT during its read-back → exit 130, nothing vouched for, no temp files", async () => {
    const tmp = scratchTmp();
    const target = join(demo.work, "dry-run-target");
    const end = await interrupted(["restore", demo.id, "--from", demo.dest, "--to", `dir://${target}`, "--dry-run", "-i", demo.identity], { ...demo.env, TMPDIR: tmp }, copied(tmp, objectSize(demo.dest, demo.id)), "the read-back began", "SIGINT");
    expectStoppedCleanly(end, demo.dest, tmp);
    expect(existsSync(target)).toBe(false);
  }, 300_000);

  describe.skipIf(!!GPG_SKIP)("OpenPGP backups (real gpg)", () => {
    let pgp: Awaited<ReturnType<typeof gpgDemoBackup>>;
    beforeAll(async () => {
      pgp = await gpgDemoBackup(demo);
    }, 300_000);

    it("gpg: SIGTERM while gpg is decrypting → gpg stopped, exit 130, no verification record, no temp files", async () => {
      const tmp = scratchTmp();
      const end = await interrupted(["verify", pgp.id, "--from", pgp.dest, "-i", pgp.secretKey], { ...demo.env, TMPDIR: tmp }, gpgDecrypting(tmp), "gpg started writing its spool", "SIGTERM");
      expectStoppedCleanly(end, pgp.dest, tmp);
      expect(processesMentioning(tmp)).toEqual([]);
    }, 300_000);
  });

  describe.skipIf(!!MONGO_SKIP)("verify --restore-to (the restore drill)", () => {
    let client: MongoClient;
    let plainDest: string;
    let plainId: string;
    beforeAll(async () => {
      client = new MongoClient(mongoTestUri()!);
      await client.connect();
      const archive = join(demo.work, "plain.archive");
      await writePlainDemoArchive(archive, 32 * 1024 * 1024, 5);
      plainDest = join(demo.work, "plain-backups");
      plainId = await backupOf(archive, plainDest, ["--allow-unencrypted"], demo.env);
    }, 300_000);
    afterAll(async () => {
      await client?.close();
    });

    it("SIGINT while the drill restores → stops at the next batch, drops its scratch databases where the server can, says what it wrote, exit 130", async () => {
      const tmp = scratchTmp();
      const size = objectSize(plainDest, plainId);
      // The read-back reads one spool copy, then the drill downloads a second and restores from it
      // at the scratch server's pace: a quarter of that second copy read means documents are in.
      const copies = new Set<string>();
      const restoring = (child: { pid?: number }): boolean => {
        const at = spoolReadPosition(child.pid!, tmp);
        if (at) copies.add(at.dir);
        return !!at && copies.size >= 2 && at.dir === [...copies].at(-1) && at.pos > size / 4;
      };
      const end = await interrupted(["verify", plainId, "--from", plainDest, "--restore-to", mongoTestUri()!], { ...demo.env, TMPDIR: tmp }, restoring, "the drill was restoring", "SIGINT");
      expect(end.code, end.stderr).toBe(130);
      expect(end.stdout).toBe("");
      expect(end.stderr).not.toMatch(/please report|verified/);
      const m = /^cloudsync: restore drill into .+ interrupted: (.+) had been restored; (.+); nothing was recorded$/m.exec(end.stderr);
      expect(m, end.stderr).not.toBeNull();
      const written = [...m![1]!.matchAll(/(\d+) documents of (cloudsync\.\w+) into (cs_drill_[0-9a-f]{6}_cloudsync)\.(\w+)/g)].map((w) => ({ documents: Number(w[1]), ns: w[2]!, db: w[3]!, collection: w[4]! }));
      expect(written.length).toBeGreaterThan(0);
      const db = written[0]!.db;
      const manifest = JSON.parse(readFileSync(join(plainDest, "manifests", `${plainId}.json`), "utf8")) as { namespaces: Array<{ ns: string; documents: number }> };
      const total = manifest.namespaces.reduce((n, x) => n + x.documents, 0);
      expect(written.reduce((n, w) => n + w.documents, 0)).toBeLessThan(total);
      if (isJongodb()) {
        // jongodb has no dropDatabase: the drill says so, and what it said is what is there.
        expect(m![2]).toMatch(new RegExp(`^scratch database ${db} was not dropped: .+; drop it by hand$`));
        for (const w of written) expect(await client.db(w.db).collection(w.collection).countDocuments()).toBe(w.documents);
      } else {
        expect(m![2]).toBe(`scratch database(s) ${db} dropped`);
        for (const w of written) expect(await client.db(w.db).collection(w.collection).countDocuments()).toBe(0);
      }
      expect(filesUnder(plainDest).filter((f) => f.startsWith("verifications/"))).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    }, 300_000);
  });
});
