/**
 * `restore --dry-run` checks what a restore would, writing nothing, and ends as that restore would
 * (issue 9, item 6): a flipped byte, a wrong key and no key each give the real restore's exit code
 * and message; a good backup says what was checked and leaves the destination and target as they were.
 */
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, filesUnder, runCli, type CliRun } from "../support/cli.js";
import { GPG_SKIP, makeGpgKey, type GpgKeyFiles } from "../support/gpg.js";

if (CLI_SKIP) console.warn(`skipping restore --dry-run process tests: ${CLI_SKIP}`);
if (GPG_SKIP) console.warn(`skipping the OpenPGP restore --dry-run tests: ${GPG_SKIP}`);

describe.skipIf(!!CLI_SKIP)("restore --dry-run checks the backup and the key, as a process", () => {
  let work: string;
  let env: Record<string, string>;
  let identity: string;
  let otherIdentity: string;
  let dest: string;
  let id: string;
  const cli = (args: string[]): Promise<CliRun> => runCli(args, { env });

  /** Runs the restore twice, dry and for real, into a fresh target; both must write nothing. */
  async function dryAndReal(from: string, keyArgs: string[], backup = id): Promise<{ dry: CliRun; real: CliRun }> {
    const target = join(work, `target-${Math.random().toString(36).slice(2)}`);
    const before = filesUnder(from);
    const dry = await cli(["restore", backup, "--from", from, "--to", `dir://${target}`, ...keyArgs, "--dry-run"]);
    expect(filesUnder(target)).toEqual([]);
    expect(readdirSync(env.TMPDIR!)).toEqual([]);
    const real = await cli(["restore", backup, "--from", from, "--to", `dir://${target}`, ...keyArgs]);
    expect(filesUnder(from)).toEqual(before);
    expect(readdirSync(env.TMPDIR!)).toEqual([]);
    return { dry, real };
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-dryrun-"));
    // An empty keyring, so no test depends on (or touches) the user's own gpg keys.
    // A private TMPDIR shows whether a run left its download or gpg's spool behind.
    env = { GNUPGHOME: join(work, "empty-gnupg"), TMPDIR: join(work, "tmp") };
    mkdirSync(env.GNUPGHOME!, { mode: 0o700 });
    mkdirSync(env.TMPDIR!);
    identity = join(work, "identity.txt");
    otherIdentity = join(work, "other.txt");
    const made = await cli(["keys", "new", "--out", identity, "--json"]);
    expect(made.code, made.stderr).toBe(0);
    expect((await cli(["keys", "new", "--out", otherIdentity])).code).toBe(0);
    const archive = join(work, "demo.archive");
    await pipeline(generateDemoArchive({ targetBytes: 256 * 1024, seed: 7 }), createWriteStream(archive));
    dest = join(work, "backups");
    const b = await cli(["backup", "--from-archive", archive, "--to", dest, "-r", made.json<{ recipient: string }>().recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    id = b.json<{ id: string }>().id;
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("a good backup and key: exit 0, the plan and what was checked, no verification record, no target", async () => {
    const target = join(work, "restored");
    const before = filesUnder(dest);
    const r = await cli(["restore", id, "--from", dest, "--to", `dir://${target}`, "-i", identity, "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`would restore ${id} to ${target}:`);
    expect(lines[1]).toMatch(/^NAMESPACE +TARGET +DOCUMENTS$/);
    expect(lines.slice(2, -1).map((l) => l.split(/ +/)[0])).toEqual(["cloudsync.models", "cloudsync.inventories", "cloudsync.licenses", "cloudsync.events"]);
    expect(lines.at(-1)).toBe("checked, writing nothing: size and SHA-256 of the stored object, decryption with the given key, every document, count and CRC, and that the target directory is new or empty");
    expect(filesUnder(dest)).toEqual(before);
    expect(filesUnder(target)).toEqual([]);
    expect(readdirSync(env.TMPDIR!)).toEqual([]);

    const j = await cli(["restore", id, "--from", dest, "--to", `dir://${target}`, "-i", identity, "--dry-run", "--json"]);
    expect(j.code, j.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dest, "manifests", `${id}.json`), "utf8")) as { object: { sha256: string; size: number } };
    const out = j.json<{ dryRun: boolean; checked: { sha256: string; size: number; layers: unknown; namespaces: Array<{ ok: boolean }> } }>();
    expect(out.dryRun).toBe(true);
    expect(out.checked).toMatchObject({ sha256: manifest.object.sha256, size: manifest.object.size, layers: { envelope: "age", compression: "gzip" } });
    expect(out.checked.namespaces.map((n) => n.ok)).toEqual([true, true, true, true]);
  });

  it("a flipped byte in the object: exit 4 with the restore's own integrity message", async () => {
    const bad = join(work, "flipped");
    cpSync(dest, bad, { recursive: true });
    const object = join(bad, "data", `${id}.archive.gz.age`);
    const bytes = readFileSync(object);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(object, bytes);
    const { dry, real } = await dryAndReal(bad, ["-i", identity]);
    expect(dry.code).toBe(4);
    expect(dry.stdout).toBe("");
    expect(dry.stderr).toMatch(new RegExp(`^cloudsync: backup ${id}: object data/${id}\\.archive\\.gz\\.age has SHA-256 [0-9a-f]{64} \\(\\d+ bytes\\) but the manifest says [0-9a-f]{64} \\(\\d+ bytes\\); it is corrupt — restore an older backup\\n$`));
    expect(real.code).toBe(4);
    expect(dry.stderr).toBe(real.stderr);
  });

  it("the wrong age identity: exit 6, as the restore", async () => {
    const { dry, real } = await dryAndReal(dest, ["-i", otherIdentity]);
    expect(dry.code).toBe(6);
    expect(dry.stderr).toBe("cloudsync: age decrypt: none of the 1 given identities matches the file's 1 recipient (or the header was altered); check that --identity is the key this backup was encrypted to\n");
    expect(real.code).toBe(6);
    expect(dry.stderr).toBe(real.stderr);
  });

  it("no identity: exit 6, naming the flag to pass", async () => {
    const { dry, real } = await dryAndReal(dest, []);
    expect(dry.code).toBe(6);
    expect(dry.stderr).toBe("cloudsync: the data is age-encrypted: pass --identity FILE (the file `cloudsync keys new` wrote) or --passphrase-file FILE\n");
    expect(real.code).toBe(6);
    expect(dry.stderr).toBe(real.stderr);
  });

  it("an identity file that cannot be read: exit 2 naming --identity, as the restore", async () => {
    const { dry, real } = await dryAndReal(dest, ["-i", join(work, "missing.txt")]);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toBe(`cloudsync: --identity: cannot read ${join(work, "missing.txt")}: ENOENT\n`);
    expect(real.code).toBe(2);
    expect(dry.stderr).toBe(real.stderr);
  });

  it("a target directory that is not empty: exit 2 naming --to, before anything is downloaded", async () => {
    const target = join(work, "occupied");
    mkdirSync(target);
    writeFileSync(join(target, "keep.txt"), "mine");
    for (const extra of [["--dry-run"], []]) {
      const r = await cli(["restore", id, "--from", dest, "--to", `dir://${target}`, "-i", identity, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`cloudsync: --to: ${target} exists and is not empty; restore into a new or empty directory\n`);
    }
    expect(filesUnder(target)).toEqual(["keep.txt"]);
  });

  it("a MongoDB target that does not answer: exit 5, as the restore", async () => {
    const down = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=1500";
    const dry = await cli(["restore", id, "--from", dest, "--to", down, "-i", identity, "--dry-run"]);
    const real = await cli(["restore", id, "--from", dest, "--to", down, "-i", identity]);
    expect(dry.code, dry.stderr).toBe(5);
    expect(dry.stdout).toBe("");
    expect(dry.stderr).toMatch(/^cloudsync: mongodb connect .*\n$/);
    expect(real.code).toBe(5);
    expect(dry.stderr).toBe(real.stderr);
  }, 120_000);

  describe.skipIf(!!GPG_SKIP)("OpenPGP backups (real gpg)", () => {
    let owner: GpgKeyFiles;
    let stranger: GpgKeyFiles;
    let pgpDest: string;
    let pgpId: string;

    beforeAll(async () => {
      owner = makeGpgKey(work, "owner");
      stranger = makeGpgKey(work, "stranger");
      pgpDest = join(work, "pgp-backups");
      const b = await cli(["backup", "--from-archive", join(work, "demo.archive"), "--to", pgpDest, "--gpg-recipient", owner.publicKeyFile, "--json"]);
      expect(b.code, b.stderr).toBe(0);
      pgpId = b.json<{ id: string }>().id;
    }, 120_000);

    it("the right key: exit 0; another key or none: exit 6, as the restore", async () => {
      const good = await cli(["restore", pgpId, "--from", pgpDest, "--to", `dir://${join(work, "pgp-out")}`, "-i", owner.secretKeyFile, "--dry-run"]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toContain("checked, writing nothing: size and SHA-256 of the stored object, decryption with the given key, every document");
      expect(filesUnder(join(work, "pgp-out"))).toEqual([]);

      for (const keyArgs of [["-i", stranger.secretKeyFile], []]) {
        const { dry, real } = await dryAndReal(pgpDest, keyArgs, pgpId);
        expect(dry.code).toBe(6);
        expect(dry.stderr).toBe("cloudsync: openpgp decrypt: none of the available OpenPGP secret keys can decrypt this backup; check that --identity (or your gpg keyring) has the key it was encrypted to\n");
        expect(real.code).toBe(6);
        expect(dry.stderr).toBe(real.stderr);
      }
    }, 120_000);
  });
});
