import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, FIXTURES, FIXTURES_SKIP, runCli, filesUnder } from "../support/cli.js";

const skip = CLI_SKIP ?? FIXTURES_SKIP;
if (skip) console.warn(`skipping CLI process tests: ${skip}`);

interface ListEntry {
  id: string;
  key: string;
  manifestKey: string;
  createdAt: string;
  size: number;
  sha256: string;
  lastVerifiedAt: string | null;
}

describe.skipIf(!!skip)("cloudsync backup → list → verify → inspect → restore, as processes", () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let dest: string;
  const fixture = join(FIXTURES, "test.bar.archive");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-cli-"));
    identity = join(work, "keys", "identity.txt");
    const made = await runCli(["keys", "new", "--out", identity, "--json"]);
    expect(made.code, made.stderr).toBe(0);
    recipient = made.json<{ recipient: string }>().recipient;
    dest = join(work, "backups");
  });

  it("keys new writes a 0600 identity and refuses to overwrite it", async () => {
    expect(statSync(identity).mode & 0o777).toBe(0o600);
    expect(readFileSync(identity, "utf8")).toContain(`# public key: ${recipient}`);
    const again = await runCli(["keys", "new", "--out", identity]);
    expect(again.code).toBe(2);
    expect(readFileSync(identity, "utf8")).toContain(recipient);
  });

  it("refuses to back up without a key, naming the flag", async () => {
    const r = await runCli(["backup", "--from-archive", fixture, "--to", dest]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cloudsync: --recipient: no encryption key given");
    expect(filesUnder(dest)).toEqual([]);
  });

  it("backs up the real mongodump archive and lists it with the documented fields", async () => {
    const b = await runCli(["backup", "--from-archive", fixture, "--to", dest, "-r", recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const out = b.json<{ id: string; key: string; totals: { namespaces: number; documents: number } }>();
    expect(out.totals).toEqual({ namespaces: 2, documents: 2, archiveBytes: expect.any(Number) });
    expect(out.key).toBe(`data/${out.id}.archive.gz.age`);

    const l = await runCli(["list", "--from", dest, "--json"]);
    expect(l.code, l.stderr).toBe(0);
    const entries = l.json<ListEntry[]>();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ id: out.id, key: out.key, manifestKey: `manifests/${out.id}.json`, lastVerifiedAt: null });
    expect(entries[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(entries[0]!.size).toBe(statSync(join(dest, out.key)).size);
    expect(filesUnder(dest)).toEqual([out.key, `manifests/${out.id}.json`].sort());
  });

  it("the stored object decrypts with the real age CLI and gunzips to the original archive", () => {
    const [key] = filesUnder(join(dest, "data"));
    const plain = execFileSync("sh", ["-c", `age -d -i "${identity}" "${join(dest, "data", key!)}" | gunzip`], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(plain, readFileSync(fixture))).toBe(0);
  });

  it("verify reads everything back and records it; list then shows when", async () => {
    const v = await runCli(["verify", "latest", "--from", dest, "-i", identity, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json<{ ok: boolean; level: string }>()).toMatchObject({ ok: true, level: "read" });
    const l = await runCli(["list", "--from", dest, "--json"]);
    expect(l.json<ListEntry[]>()[0]!.lastVerifiedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("inspect detects age + gzip from the bytes and prints the documented JSON", async () => {
    const [key] = filesUnder(join(dest, "data"));
    const r = await runCli(["inspect", join(dest, "data", key!), "-i", identity, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ header: Record<string, string>; namespaces: Array<{ ns: string; documents: number; crcOk: boolean }> }>();
    expect(j.header).toEqual({ version: "0.1", server_version: "3.4.3", tool_version: "r3.4.3" });
    expect(j.namespaces.map((n) => [n.ns, n.documents, n.crcOk])).toEqual([
      ["admin.system.version", 1, true],
      ["test.bar", 1, true],
    ]);
  });

  it("restore writes the mongodump directory layout", async () => {
    const target = join(work, "restored");
    const r = await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", identity, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(filesUnder(target)).toEqual(["admin/system.version.bson", "admin/system.version.metadata.json", "test/bar.bson", "test/bar.metadata.json"]);
  });

  it("a wrong identity fails with exit 6 and writes nothing", async () => {
    const other = join(work, "keys", "other.txt");
    expect((await runCli(["keys", "new", "--out", other])).code).toBe(0);
    const target = join(work, "wrong-key");
    const r = await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", other]);
    expect(r.code).toBe(6);
    expect(existsSync(target)).toBe(false);
    expect(r.stderr).not.toContain("AGE-SECRET-KEY");
  });

  it("a damaged archive is refused with exit 4 and nothing is listed", async () => {
    const bad = join(FIXTURES, "bad-format.archive");
    const d2 = join(work, "bad-dest");
    const r = await runCli(["backup", "--from-archive", bad, "--to", d2, "-r", recipient]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("test.ixtest");
    expect(filesUnder(d2)).toEqual([]);

    const truncated = readFileSync(fixture).subarray(0, 500);
    const t = await runCli(["backup", "--from-archive", "-", "--to", d2, "-r", recipient], { input: truncated });
    expect(t.code).toBe(4);
    expect(filesUnder(d2)).toEqual([]);

    // A file is read straight into the compression blocks (gzip, zstd) or streamed (none): each way, the same refusal.
    const truncatedFile = join(work, "truncated.archive");
    writeFileSync(truncatedFile, truncated);
    // A changed byte inside a document: with gzip and zstd the CRCs are computed by the compression threads.
    const chunks: Buffer[] = [];
    for await (const c of generateDemoArchive({ targetBytes: 2 * 1024 * 1024, seed: 2026 })) chunks.push(c as Buffer);
    const changed = Buffer.concat(chunks);
    changed[(1 << 20) + 123]! ^= 0x20;
    const changedFile = join(work, "changed.archive");
    writeFileSync(changedFile, changed);
    for (const compress of ["gzip", "zstd", "none"]) {
      const f = await runCli(["backup", "--from-archive", truncatedFile, "--to", d2, "-r", recipient, "--compress", compress]);
      expect(f.code, `${compress}: ${f.stderr}`).toBe(4);
      expect(f.stderr).toMatch(/truncated/);
      expect(filesUnder(d2)).toEqual([]);
      const c = await runCli(["backup", "--from-archive", changedFile, "--to", d2, "-r", recipient, "--compress", compress]);
      expect(c.code, `${compress}: ${c.stderr}`).toBe(4);
      expect(c.stderr).toMatch(/^cloudsync: archive: CRC mismatch for cloudsync\.\w+ \(EOF header at offset \d+\): stored -?\d+, computed -?\d+ over \d+ documents$/m);
      expect(filesUnder(d2)).toEqual([]);
    }
  });

  it("one flipped byte in a stored object fails verify, inspect and restore with exit 4", async () => {
    const d3 = join(work, "flip");
    const b = await runCli(["backup", "--from-archive", fixture, "--to", d3, "-r", recipient, "--json"]);
    const key = b.json<{ key: string }>().key;
    const path = join(d3, key);
    const bytes = readFileSync(path);
    bytes[bytes.length - 40]! ^= 0x01;
    writeFileSync(path, bytes);
    expect((await runCli(["verify", "latest", "--from", d3, "-i", identity])).code).toBe(4);
    expect((await runCli(["inspect", path, "-i", identity])).code).toBe(4);
    const target = join(work, "flip-restored");
    const r = await runCli(["restore", "latest", "--from", d3, "--to", `dir://${target}`, "-i", identity]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("SHA-256");
    expect(existsSync(target)).toBe(false);
  });

  it("usage errors exit 2 and --help documents the exit codes", async () => {
    expect((await runCli(["backup", "--no-such-flag"])).code).toBe(2);
    const h = await runCli(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("Exit codes:");
    for (const c of ["demo", "backup", "list", "verify", "inspect", "restore", "keys"]) expect(h.stdout).toContain(`  ${c}`);
    const e = await runCli(["list", "--from", "ftp://x", "--json"]);
    expect(e.code).toBe(2);
    expect(e.json<{ error: { code: string; exitCode: number } }>().error).toMatchObject({ code: "config", exitCode: 2 });
  });

  it("never prints a connection string's password, even with --debug", async () => {
    const r = await runCli(["list", "--from", "ftp://x", "--debug"], { env: { MONGODB_URI: "mongodb://admin:SuperSecretPw99@localhost:27017" } });
    expect(r.stdout + r.stderr).not.toContain("SuperSecretPw99");
  });
});
