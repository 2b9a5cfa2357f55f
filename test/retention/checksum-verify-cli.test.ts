// Issue 9 item 2, through the real `cloudsync` process: on a host without the identity, `verify`
// checks the stored object's size and SHA-256, records that as a "checksum" verification, and
// prune's "newest verified" rule counts it, so an older checksum-verified backup survives the
// default rules. A checksum mismatch is recorded as a failure and does not count.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { manifestKeyFor } from "../../runtime/src/manifest/manifest.js";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { addBackup, DAY, SLOW } from "./helpers.js";

if (CLI_SKIP) console.warn(`skipping checksum verification process tests: ${CLI_SKIP}`);

interface Record {
  id: string;
  ok: boolean;
  level: string;
  detail: { sha256?: string; size?: number; error?: string };
}

function records(root: string, id: string): Record[] {
  const dir = path.join(root, "verifications", id);
  return existsSync(dir) ? readdirSync(dir).map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Record) : [];
}

describe.skipIf(!!CLI_SKIP)("checksum-only verification counts for prune", () => {
  let root: string;
  const backups: Array<{ id: string; key: string }> = [];
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-checksum-"));
    backups.length = 0;
    // Newest first: 30, 40 and 50 days old, all beyond the default keep-within.
    for (let i = 0; i < 3; i++) backups.push(await addBackup(root, new Date(Date.now() - (30 + i * 10) * DAY), `00000${i}`));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("verify without an identity records a checksum verification, and prune keeps that backup as the newest verified", async () => {
    const middle = backups[1]!;
    const v = await runCli(["verify", middle.id, "--from", root]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(
      new RegExp(
        `^verified \\(checksum only\\) ${middle.id} \\(record verifications/${middle.id}/\\d{8}T\\d{9}Z\\.json\\): the stored object's size and SHA-256 match the manifest; it was not decrypted \\(no identity given: pass --identity FILE for a full read-back\\)\\n$`,
      ),
    );
    const manifest = JSON.parse(readFileSync(path.join(root, manifestKeyFor(middle.id)), "utf8")) as { object: { sha256: string; size: number } };
    expect(records(root, middle.id)).toEqual([{ id: middle.id, verifiedAt: expect.any(String), ok: true, level: "checksum", detail: { sha256: manifest.object.sha256, size: manifest.object.size } }]);

    const l = await runCli(["list", "--from", root, "--json"]);
    const listed = l.json<Array<{ id: string; lastVerification: unknown; verified: boolean }>>();
    expect(listed.find((e) => e.id === middle.id)).toMatchObject({ lastVerification: { ok: true, level: "checksum", at: expect.any(String) }, verified: true });

    const p = await runCli(["prune", "--from", root, "--json"]);
    expect(p.code, p.stderr).toBe(0);
    const doc = p.json<{ keep: Array<{ id: string; reasons: string[] }>; deleted: string[] }>();
    expect(doc.keep).toEqual([
      { id: backups[0]!.id, reasons: ["newest complete (always kept)"] },
      { id: middle.id, reasons: ["newest verified (checksum)"] },
    ]);
    expect(doc.deleted).toEqual([backups[2]!.id]);
    expect(existsSync(path.join(root, middle.key))).toBe(true);
    expect(existsSync(path.join(root, backups[2]!.key))).toBe(false);
  }, SLOW);

  it("a checksum mismatch exits 4, is recorded as a failed checksum verification, and does not count for prune", async () => {
    const middle = backups[1]!;
    const file = path.join(root, middle.key);
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(3) ^ 0x01, 3);
    writeFileSync(file, bytes);
    const v = await runCli(["verify", middle.id, "--from", root]);
    expect(v.code).toBe(4);
    expect(v.stderr).toContain(`backup ${middle.id}: object ${middle.key} has SHA-256`);
    expect(records(root, middle.id)).toEqual([{ id: middle.id, verifiedAt: expect.any(String), ok: false, level: "checksum", detail: { error: expect.stringContaining("it is corrupt") } }]);

    const p = await runCli(["prune", "--from", root, "--dry-run", "--json"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json<{ keep: Array<{ id: string }> }>().keep.map((k) => k.id)).toEqual([backups[0]!.id]);
  }, SLOW);
});
