/**
 * Ctrl-C and SIGTERM stop a restore that is already writing (issue 9, item 7). A real process gets
 * a real signal once its staging directory (or gpg's spool, or the first restored documents)
 * exists: a dir:// restore then publishes nothing, leaves no temporary file and exits 130, with age
 * and with gpg backups; a restore into MongoDB stops and says how much it had written.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { DEMO_SERVER_VERSION, demoCollections, generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, runCli, spawnCli } from "../support/cli.js";
import { GPG_SKIP, makeGpgKey } from "../support/gpg.js";
import { mongoSkipReason, mongoTestUri } from "../support/mongo-service.js";

if (CLI_SKIP) console.warn(`skipping restore interrupt process tests: ${CLI_SKIP}`);
if (GPG_SKIP) console.warn(`skipping the OpenPGP restore interrupt tests: ${GPG_SKIP}`);
const MONGO_SKIP = CLI_SKIP ?? mongoSkipReason();

/** Large enough that writing the restore takes seconds, so the signal lands while it writes. */
const ARCHIVE_BYTES = 128 * 1024 * 1024;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves once `ready()` holds, polling; rejects if `child` exits first or `timeoutMs` passes. */
async function until(ready: () => boolean | Promise<boolean>, child: ChildProcess, what: string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the restore ended before ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts the CLI, waits for `ready`, sends `sig`, and collects how it ended. */
async function interrupted(args: string[], env: Record<string, string>, ready: () => boolean | Promise<boolean>, what: string, sig: NodeJS.Signals): Promise<Finished> {
  const child = spawnCli(args, { env });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<Finished>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  try {
    await until(ready, child, what);
  } catch (err) {
    child.kill("SIGKILL");
    const end = await ended;
    throw new Error(`${(err as Error).message}\nstdout: ${end.stdout}\nstderr: ${end.stderr}`, { cause: err });
  }
  child.kill(sig);
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const end = await ended;
  clearTimeout(timer);
  return end;
}

/** Pids of live processes whose command line mentions `text` (e.g. a gpg run in a test's TMPDIR). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text)) pids.push(Number(pid));
    } catch {
      // The process ended while the list was read.
    }
  }
  return pids;
}

describe.skipIf(!!CLI_SKIP)("an interrupted restore publishes nothing, as a process receiving real signals", () => {
  let work: string;
  let env: Record<string, string>;
  let identity: string;
  let ageDest: string;
  let ageId: string;
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
    work = mkdtempSync(join(tmpdir(), "cloudsync-interrupt-"));
    env = { GNUPGHOME: join(work, "empty-gnupg") };
    mkdirSync(env.GNUPGHOME!, { mode: 0o700 });
    identity = join(work, "identity.txt");
    const made = await runCli(["keys", "new", "--out", identity, "--json"], { env });
    expect(made.code, made.stderr).toBe(0);
    await pipeline(generateDemoArchive({ targetBytes: ARCHIVE_BYTES, seed: 9 }), createWriteStream(join(work, "demo.archive")));
    ageDest = join(work, "age-backups");
    const b = await runCli(["backup", "--from-archive", join(work, "demo.archive"), "--to", ageDest, "-r", made.json<{ recipient: string }>().recipient, "--json"], { env, timeoutMs: 240_000 });
    expect(b.code, b.stderr).toBe(0);
    ageId = b.json<{ id: string }>().id;
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
      const key = makeGpgKey(work, "owner");
      secretKey = key.secretKeyFile;
      pgpDest = join(work, "pgp-backups");
      const b = await runCli(["backup", "--from-archive", join(work, "demo.archive"), "--to", pgpDest, "--gpg-recipient", key.publicKeyFile, "--compress", "zstd", "--json"], { env, timeoutMs: 240_000 });
      expect(b.code, b.stderr).toBe(0);
      pgpId = b.json<{ id: string }>().id;
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
      // gpg spools its plaintext before anything is passed on; a growing spool means it is mid-way.
      const decrypting = (): boolean =>
        readdirSync(s.tmp)
          .filter((n) => n.startsWith("cloudsync-spool-"))
          .some((d) => existsSync(join(s.tmp, d, "plain")) && statSync(join(s.tmp, d, "plain")).size > 0);
      const end = await interrupted(["restore", pgpId, "--from", pgpDest, "--to", `dir://${s.target}`, "-i", secretKey], { ...env, TMPDIR: s.tmp }, decrypting, "gpg started writing its spool", "SIGTERM");
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
      // The demo documents without the demo's validators and indexes: jongodb, the suite's default
      // server, has no `create`, and the interrupt is about inserting, not about collection options.
      const archive = join(work, "plain.archive");
      const namespaces = demoCollections({ targetBytes: 16 * 1024 * 1024, seed: 3 }).map(({ collection, documents }) => ({ meta: { db: "cloudsync", collection, metadata: "", size: 0 }, documents }));
      await pipeline(writeArchive({ header: { version: "0.1", serverVersion: DEMO_SERVER_VERSION, toolVersion: "test" }, namespaces }), createWriteStream(archive));
      plainDest = join(work, "plain-backups");
      const b = await runCli(["backup", "--from-archive", archive, "--to", plainDest, "--allow-unencrypted", "--json"], { env, timeoutMs: 240_000 });
      expect(b.code, b.stderr).toBe(0);
      plainId = b.json<{ id: string }>().id;
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
