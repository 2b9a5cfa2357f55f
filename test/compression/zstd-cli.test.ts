import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, filesUnder, runCli } from "../support/cli.js";

if (CLI_SKIP) console.warn(`skipping zstd CLI process tests: ${CLI_SKIP}`);

// `--compress zstd` on every supported Node (22.15+ has zstd in node:zlib): what cloudsync stores
// is a zstd frame the real zstd CLI reads, and cloudsync reads it back.
describe.skipIf(!!CLI_SKIP)("cloudsync backup --compress zstd, as processes", () => {
  let work: string;
  let archive: string;
  let identity: string;
  let recipient: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-zstd-"));
    archive = join(work, "demo.archive");
    await pipeline(generateDemoArchive({ targetBytes: 400 * 1024, seed: 5 }), createWriteStream(archive));
    identity = join(work, "identity.txt");
    const made = await runCli(["keys", "new", "--out", identity, "--json"]);
    expect(made.code, made.stderr).toBe(0);
    recipient = made.json<{ recipient: string }>().recipient;
  });

  it("stores .archive.zst.age that age -d | zstd -d turns back into the archive; inspect and verify read it", async () => {
    const dest = join(work, "age");
    const b = await runCli(["backup", "--from-archive", archive, "--to", dest, "--compress", "zstd", "-r", recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const { id, key } = b.json<{ id: string; key: string }>();
    expect(key).toBe(`data/${id}.archive.zst.age`);
    expect(filesUnder(dest)).toEqual([key, `manifests/${id}.json`]);
    const manifest = JSON.parse(readFileSync(join(dest, "manifests", `${id}.json`), "utf8")) as { compression: unknown };
    expect(manifest.compression).toEqual({ algorithm: "zstd", level: 1 });

    const plain = execFileSync("sh", ["-c", `age -d -i "${identity}" "${join(dest, key)}" | zstd -d -c -q`], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(plain, readFileSync(archive))).toBe(0);

    const i = await runCli(["inspect", join(dest, key), "-i", identity, "--json"]);
    expect(i.code, i.stderr).toBe(0);
    const j = i.json<{ layers: unknown; namespaces: Array<{ crcOk: boolean }> }>();
    expect(j.layers).toEqual({ envelope: "age", compression: "zstd" });
    expect(j.namespaces.length).toBeGreaterThan(0);
    expect(j.namespaces.every((n) => n.crcOk)).toBe(true);

    const v = await runCli(["verify", "latest", "--from", dest, "-i", identity, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json<{ ok: boolean }>()).toMatchObject({ ok: true });
  });

  it("an unencrypted zstd backup is a plain .archive.zst that zstd -d reads byte for byte", async () => {
    const dest = join(work, "plain");
    const b = await runCli(["backup", "--from-archive", archive, "--to", dest, "--compress", "zstd", "--allow-unencrypted", "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const { id, key } = b.json<{ id: string; key: string }>();
    expect(key).toBe(`data/${id}.archive.zst`);
    const plain = execFileSync("zstd", ["-d", "-c", "-q", join(dest, key)], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(plain, readFileSync(archive))).toBe(0);
  });
});
