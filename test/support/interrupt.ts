/**
 * Helpers for process tests that interrupt the real CLI: start it, poll until it is mid-work,
 * send a real signal, and collect how it ended. Polling (never a fixed sleep) keeps them robust on
 * a loaded machine.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { BSON, type Document, type MongoClient } from "mongodb";
import { expect } from "vitest";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { DEMO_SERVER_VERSION, demoCollections, generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { runCli, spawnCli } from "./cli.js";
import { makeGpgKey } from "./gpg.js";

/** How an interrupted CLI process ended. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a test polls for before it sends the signal; it is given the running child. */
export type ReadyCheck = (child: ChildProcess) => boolean | Promise<boolean>;

/** Resolves once `ready(child)` holds, polling; rejects if `child` exits first or `timeoutMs` passes. */
export async function until(ready: ReadyCheck, child: ChildProcess, what: string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready(child))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the command ended before ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Starts the CLI with `args`, waits for `ready`, sends `sig`, and collects how it ended. A child
 * that is not ready in time, or does not end within two minutes of the signal, is killed.
 */
export async function interrupted(args: string[], env: Record<string, string>, ready: ReadyCheck, what: string, sig: NodeJS.Signals): Promise<Finished> {
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
export function processesMentioning(text: string): number[] {
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

/** True once gpg, run with TMPDIR `tmp`, has begun spooling plaintext: it is mid-way through decrypting. */
export function gpgDecrypting(tmp: string): () => boolean {
  return () =>
    readdirSync(tmp)
      .filter((n) => n.startsWith("cloudsync-spool-"))
      .some((d) => existsSync(join(tmp, d, "plain")) && statSync(join(tmp, d, "plain")).size > 0);
}

/** A work directory holding an age identity and one age-encrypted backup of a demo archive. */
export interface AgeDemoBackup {
  readonly work: string;
  /** GNUPGHOME pointing at an empty directory inside `work`, so no test touches the user's keys. */
  readonly env: Record<string, string>;
  readonly identity: string;
  /** The demo archive the backup was made from. */
  readonly archive: string;
  readonly dest: string;
  readonly id: string;
}

/** Creates a new work directory named after `name`, with a demo archive of about `bytes` backed up to `work/age-backups`. */
export async function ageDemoBackup(name: string, bytes: number, seed: number): Promise<AgeDemoBackup> {
  const work = mkdtempSync(join(tmpdir(), `cloudsync-${name}-`));
  const env = { GNUPGHOME: join(work, "empty-gnupg") };
  mkdirSync(env.GNUPGHOME, { mode: 0o700 });
  const identity = join(work, "identity.txt");
  const made = await runCli(["keys", "new", "--out", identity, "--json"], { env });
  expect(made.code, made.stderr).toBe(0);
  const archive = join(work, "demo.archive");
  await pipeline(generateDemoArchive({ targetBytes: bytes, seed }), createWriteStream(archive));
  const dest = join(work, "age-backups");
  const id = await backupOf(archive, dest, ["-r", made.json<{ recipient: string }>().recipient], env);
  return { work, env, identity, archive, dest, id };
}

/** Backs `archive` up to `dest` with the CLI (`args` choose the encryption) and returns the backup's id. */
export async function backupOf(archive: string, dest: string, args: string[], env: Record<string, string>): Promise<string> {
  const b = await runCli(["backup", "--from-archive", archive, "--to", dest, ...args, "--json"], { env, timeoutMs: 240_000 });
  expect(b.code, b.stderr).toBe(0);
  return b.json<{ id: string }>().id;
}

/**
 * Writes the demo documents (about `bytes`, database `cloudsync`) as an archive without the demo's
 * validators and indexes: jongodb, the suite's default server, has no `create`, and the interrupt
 * tests are about inserting, not about collection options.
 */
export async function writePlainDemoArchive(path: string, bytes: number, seed: number): Promise<void> {
  const namespaces = demoCollections({ targetBytes: bytes, seed }).map(({ collection, documents }) => ({ meta: { db: "cloudsync", collection, metadata: "", size: 0 }, documents }));
  await pipeline(writeArchive({ header: { version: "0.1", serverVersion: DEMO_SERVER_VERSION, toolVersion: "test" }, namespaces }), createWriteStream(path));
}

/** Makes a gpg key in `demo.work` and backs the demo archive up with it to `work/pgp-backups`; `args` add backup flags. */
export async function gpgDemoBackup(demo: AgeDemoBackup, args: string[] = []): Promise<{ secretKey: string; dest: string; id: string }> {
  const key = makeGpgKey(demo.work, "owner");
  const dest = join(demo.work, "pgp-backups");
  const id = await backupOf(demo.archive, dest, ["--gpg-recipient", key.publicKeyFile, ...args], demo.env);
  return { secretKey: key.secretKeyFile, dest, id };
}

/**
 * How far `pid` has read the spool copy (`cloudsync-restore-*` + `/object`) it has open for reading
 * under `tmp`: that directory's name and the file offset, from /proc; undefined when none is open.
 */
export function spoolReadPosition(pid: number, tmp: string): { dir: string; pos: number } | undefined {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const [dir, file, ...rest] = target.startsWith(`${tmp}/cloudsync-restore-`) ? target.slice(tmp.length + 1).split("/") : [];
      if (!dir || file !== "object" || rest.length) continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
      const pos = /^pos:\s+(\d+)$/m.exec(info);
      // Opened for reading only (O_RDONLY is 0 in the access bits), not the download writing it.
      const flags = /^flags:\s+([0-7]+)$/m.exec(info);
      if (pos && flags && (parseInt(flags[1]!, 8) & 3) === 0) return { dir, pos: Number(pos[1]) };
    }
  } catch {
    // The process or the descriptor went away while it was looked at.
  }
  return undefined;
}

/** Inserts the demo documents (about `bytes`, split over the demo collections) into database `db`, in batches; returns how many. */
export async function insertDemoDocuments(client: MongoClient, db: string, bytes: number, seed: number): Promise<number> {
  let total = 0;
  for (const { collection, documents } of demoCollections({ targetBytes: bytes, seed })) {
    let batch: Document[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length) total += (await client.db(db).collection(collection).insertMany(batch)).insertedCount;
      batch = [];
    };
    for await (const raw of documents) {
      batch.push(BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true }));
      if (batch.length === 1000) await flush();
    }
    await flush();
  }
  return total;
}
