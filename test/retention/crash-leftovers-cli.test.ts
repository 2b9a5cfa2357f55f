// Issue 9 item 5, for real: a backup process killed with SIGKILL mid-upload leaves its temporary
// file in data/. prune leaves a fresh one alone (it may be a live upload), and once it is over a
// day old reports it in the plan (text and --json), keeps it on --dry-run and removes it otherwise.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { withLogging, withProgress } from "../../runtime/src/destinations/wrappers.js";
import { ConfigError } from "../../runtime/src/errors.js";
import { findOrphans } from "../../runtime/src/manifest/deletion.js";
import { CLI_SKIP, filesUnder, runCli, spawnCli } from "../support/cli.js";
import { DAY, keysAndArchive, SLOW } from "./helpers.js";

if (CLI_SKIP) console.warn(`skipping crash leftover process tests: ${CLI_SKIP}`);


async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!!CLI_SKIP)("prune removes what a killed backup left behind", () => {
  let work: string;
  let recipient: string;
  let archive: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-leftovers-"));
    ({ recipient, archive } = await keysAndArchive(work, 8 << 20, 5));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("a kill -9 leftover is kept while fresh, listed by --dry-run once a day old, then deleted", async () => {
    const dest = join(work, "backups");
    const first = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const firstId = first.json<{ id: string }>().id;

    // Feed the second backup through stdin and never finish, so it is surely mid-upload when killed.
    const child = spawnCli(["backup", "--from-archive", "-", "--to", dest, "-r", recipient]);
    child.stdin!.on("error", () => undefined); // EPIPE once it is killed
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_code, signal) => r(signal)));
    const bytes = readFileSync(archive);
    const temps = (): string[] => (existsSync(join(dest, "data")) ? readdirSync(join(dest, "data")).filter((f) => /^\..*\.tmp-[0-9a-f]+$/.test(f)) : []);
    // Half the archive, slowly: compressed and encrypted bytes reach the temporary file, and the
    // backup cannot finish because stdin never ends.
    const chunk = 256 << 10;
    for (let off = 0; off < bytes.length / 2; off += chunk) {
      child.stdin!.write(bytes.subarray(off, off + chunk));
      await new Promise((r) => setTimeout(r, 10));
    }
    await until("bytes in the temporary file", () => temps().length === 1 && statSync(join(dest, "data", temps()[0]!)).size > 0);
    expect(child.exitCode).toBeNull();
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const [temp] = temps();
    const tempKey = `data/${temp}`;
    const size = statSync(join(dest, tempKey)).size;
    expect(size).toBeGreaterThan(0);

    // Fresh: it may be a live upload, so it is not an orphan.
    const fresh = await runCli(["prune", "--from", dest, "--keep-last", "5", "--dry-run", "--json"]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.json<{ orphans: unknown[] }>().orphans).toEqual([]);

    const old = new Date(Math.floor((Date.now() - 3 * DAY) / 1000) * 1000);
    utimesSync(join(dest, tempKey), old, old);
    const url = createLocalDestination(dest).url;

    const dryText = await runCli(["prune", "--from", dest, "--keep-last", "5", "--dry-run"]);
    expect(dryText.code, dryText.stderr).toBe(0);
    expect(dryText.stdout).toContain("orphans (objects without a manifest and temporary files of interrupted writes, older than the grace period):");
    expect(dryText.stdout).toMatch(new RegExp(`\\n${tempKey.replace(/\./g, "\\.")}\\s+\\S+ \\S+\\s+\\S+\\s+temporary file of an interrupted write \\(the process was killed mid-backup\\)\\n`));
    expect(dryText.stdout.trimEnd().endsWith("dry run: would delete 0 backup(s) and 1 orphan(s); nothing was deleted")).toBe(true);
    expect(existsSync(join(dest, tempKey))).toBe(true);

    const dryJson = await runCli(["prune", "--from", dest, "--keep-last", "5", "--dry-run", "--json"]);
    expect(dryJson.json<{ orphans: unknown[]; orphansDeleted: string[] }>()).toMatchObject({
      orphans: [{ key: tempKey, size, lastModified: old.toISOString(), reason: "temporary file of an interrupted write (the process was killed mid-backup)", temporary: true }],
      orphansDeleted: [],
    });
    expect(existsSync(join(dest, tempKey))).toBe(true);

    const p = await runCli(["prune", "--from", dest, "--keep-last", "5"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.trimEnd().endsWith(`deleted 0 backup(s) and 1 orphan(s) from ${url}; 1 backup(s) kept`)).toBe(true);
    expect(existsSync(join(dest, tempKey))).toBe(false);
    expect(filesUnder(dest)).toEqual([`data/${firstId}.archive.gz.age`, `manifests/${firstId}.json`]);
  }, SLOW);
});

describe("the local destination's temporaryFiles", () => {
  let root: string;
  const temp = "data/.kept.archive.tmp-0a1b2c";
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "cloudsync-temps-"));
    await createLocalDestination(root).put("data/kept.archive", Readable.from([Buffer.from("a stored object")]));
    writeFileSync(join(root, temp), "left by a killed write");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("lists only temporary files and refuses to remove anything else", async () => {
    const dest = createLocalDestination(root);
    const listed: string[] = [];
    for await (const t of dest.temporaryFiles!.list()) listed.push(t.key);
    expect(listed).toEqual([temp]);
    for (const key of ["data/kept.archive", "../.kept.archive.tmp-0a1b2c", "data/../.x.tmp-1", "/data/.x.tmp-1"]) {
      await expect(dest.temporaryFiles!.remove(key), key).rejects.toThrow(new ConfigError("key", `${JSON.stringify(key)} is not the name of a temporary file`));
    }
    await dest.temporaryFiles!.remove(temp);
    await dest.temporaryFiles!.remove(temp);
    expect(filesUnder(root)).toEqual(["data/kept.archive"]);
  });

  it("withLogging and withProgress keep them, so prune still finds a killed write's leftovers", async () => {
    const local = createLocalDestination(root);
    const old = new Date(Date.now() - 3 * DAY);
    utimesSync(join(root, temp), old, old);
    for (const dest of [withLogging(local, () => undefined), withProgress(local, () => undefined)]) {
      expect((await findOrphans(dest, new Date())).map((o) => o.key)).toEqual([temp]);
    }
  });
});
