/**
 * Ctrl-C and SIGTERM stop a restore that is already writing (issue 9, item 7). A real process gets
 * a real signal once its staging directory (or gpg's spool, or the first restored documents)
 * exists: a dir:// restore then publishes nothing, leaves no temporary file and exits 130, with age
 * and with gpg backups; a restore into MongoDB stops and says how much it had written.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP } from "../support/cli.js";
import { ageDemoBackup, backupOf, gpgDemoBackup, type AgeDemoBackup, writePlainDemoArchive, gpgDecrypting, interrupted, processesMentioning, type Finished } from "../support/interrupt.js";
import { GPG_SKIP } from "../support/gpg.js";
import { mongoSkipReason, mongoTestUri } from "../support/mongo-service.js";

if (CLI_SKIP) console.warn(`skipping restore interrupt process tests: ${CLI_SKIP}`);
if (GPG_SKIP) console.warn(`skipping the OpenPGP restore interrupt tests: ${GPG_SKIP}`);
const MONGO_SKIP = CLI_SKIP ?? mongoSkipReason();

/** Large enough that writing the restore takes seconds, so the signal lands while it writes. */
const ARCHIVE_BYTES = 128 * 1024 * 1024;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

describe.skipIf(!!CLI_SKIP)("an interrupted restore publishes nothing, as a process receiving real signals", () => {
  let work: string;
  let env: Record<string, string>;
  let identity: string;
  let ageDest: string;
  let ageId: string;
  let demo: AgeDemoBackup;
  let fresh = 0;

  /** A new empty parent for the target and a new private TMPDIR for the restore's spool. */
  function scratch(): { parent: string; target: string; tmp: string } {
    fresh += 1;
    const parent = join(work, `parent-${fresh}`);
    const tmp = join(work, `tmp-${fresh}`);
    mkdirSync(parent);
    mkdirSync(tmp);
    return { parent, target: join(parent, "restored"), tmp };
  }

  const staging = (parent: string) => (): boolean => readdirSync(parent).some((n) => n.startsWith(".restored.tmp-"));

  /** What every interrupted dir:// restore must show: 130, no result, nothing published, no temp files. */
  function expectNothingLeft(end: Finished, sig: NodeJS.Signals, s: { parent: string; tmp: string }): void {
    expect(end.code, end.stderr).toBe(130);
    expect(end.signal).toBeNull();
    expect(end.stdout).toBe("");
    // The CLI's plain interrupt message, never a crash report, and no result claimed.
    expect(end.stderr).toMatch(/interrupted; nothing was written/);
    expect(end.stderr).not.toMatch(/please report/);
    expect(end.stderr).not.toContain("restored");
    expect(readdirSync(s.parent)).toEqual([]);
    expect(readdirSync(s.tmp)).toEqual([]);
  }

  beforeAll(async () => {
    demo = await ageDemoBackup("interrupt", ARCHIVE_BYTES, 9);
    ({ work, env, identity, dest: ageDest, id: ageId } = demo);
  }, 300_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  for (const sig of SIGNALS) {
    it(`age, dir://: ${sig} while the directory is being written → exit 130, no directory, no temp files`, async () => {
      const s = scratch();
      const end = await interrupted(["restore", ageId, "--from", ageDest, "--to", `dir://${s.target}`, "-i", identity], { ...env, TMPDIR: s.tmp }, staging(s.parent), "its staging directory appeared", sig);
      expectNothingLeft(end, sig, s);
    }, 300_000);
  }

  describe.skipIf(!!GPG_SKIP)("OpenPGP backups (real gpg)", () => {
    let secretKey: string;
    let pgpDest: string;
    let pgpId: string;

    beforeAll(async () => {
      ({ secretKey, dest: pgpDest, id: pgpId } = await gpgDemoBackup(demo, ["--compress", "zstd"]));
    }, 300_000);

    for (const sig of SIGNALS) {
      it(`gpg, dir://: ${sig} while the directory is being written → exit 130, no directory, no temp files`, async () => {
        const s = scratch();
        const end = await interrupted(["restore", pgpId, "--from", pgpDest, "--to", `dir://${s.target}`, "-i", secretKey], { ...env, TMPDIR: s.tmp }, staging(s.parent), "its staging directory appeared", sig);
        expectNothingLeft(end, sig, s);
      }, 300_000);
    }

    it("gpg, dir://: SIGTERM while gpg is still decrypting → gpg stopped, exit 130, nothing written", async () => {
      const s = scratch();
      const end = await interrupted(["restore", pgpId, "--from", pgpDest, "--to", `dir://${s.target}`, "-i", secretKey], { ...env, TMPDIR: s.tmp }, gpgDecrypting(s.tmp), "gpg started writing its spool", "SIGTERM");
      expectNothingLeft(end, "SIGTERM", s);
      expect(processesMentioning(s.tmp)).toEqual([]);
    }, 300_000);
  });

  describe.skipIf(!!MONGO_SKIP)("into MongoDB", () => {
    let client: MongoClient;
    let plainDest: string;
    let plainId: string;
    beforeAll(async () => {
      client = new MongoClient(mongoTestUri()!);
      await client.connect();
      const archive = join(work, "plain.archive");
      await writePlainDemoArchive(archive, 16 * 1024 * 1024, 3);
      plainDest = join(work, "plain-backups");
      plainId = await backupOf(archive, plainDest, ["--allow-unencrypted"], env);
    }, 300_000);
    afterAll(async () => {
      await client?.close();
    });

    it("SIGINT once documents are arriving → stops, says how many were written, exit 130", async () => {
      const s = scratch();
      const db = `interrupt_${process.pid}_${Date.now().toString(36)}`;
      const arriving = async (): Promise<boolean> => (await client.db(db).collection("models").countDocuments()) > 0;
      const end = await interrupted(["restore", plainId, "--from", plainDest, "--to", mongoTestUri()!, "--rename", `cloudsync.*:${db}.*`], { ...env, TMPDIR: s.tmp }, arriving, "documents arrived", "SIGINT");
      expect(end.code, end.stderr).toBe(130);
      expect(end.stdout).toBe("");
      const m = new RegExp(`cloudsync: mongodb restore into .* interrupted: (\\d+) documents of cloudsync\\.models into ${db}\\.models had been restored and are kept; run the restore again with --drop to replace the partial collections\\n`).exec(end.stderr);
      expect(m, end.stderr).not.toBeNull();
      const restored = Number(m![1]);
      const manifest = JSON.parse(readFileSync(join(plainDest, "manifests", `${plainId}.json`), "utf8")) as { namespaces: Array<{ ns: string; documents: number }> };
      expect(restored).toBeLessThan(manifest.namespaces.find((n) => n.ns === "cloudsync.models")!.documents);
      expect(await client.db(db).collection("models").countDocuments()).toBe(restored);
      expect(await client.db(db).collection("events").countDocuments()).toBe(0);
      expect(readdirSync(s.tmp)).toEqual([]);
    }, 300_000);
  });
});
