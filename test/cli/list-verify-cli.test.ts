// Issue 9 item 19, through the real `cloudsync` process: `list` shows each backup's last
// verification, passed or FAILED, its level and when (text and --json), never "never" after a
// failed re-verify. Prune counts only passing records: a failed re-verify, or a checksum pass
// after a failed full read, does not make a backup "verified".
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { keysAndArchive, SLOW } from "../retention/helpers.js";

if (CLI_SKIP) console.warn(`skipping list verification process tests: ${CLI_SKIP}`);

interface Listed {
  id: string;
  lastVerifiedAt: string | null;
  lastVerification: { at: string; ok: boolean; level: string } | null;
  verified: boolean;
}

const stamp = (iso: string): string => iso.replace(/\.\d{3}Z$/, "Z");

describe.skipIf(!!CLI_SKIP)("list shows the last verification, passed or failed", () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let archive: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-list-verify-"));
    ({ identity, recipient, archive } = await keysAndArchive(work, 256 << 10, 9));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("never, then ok read, then FAILED read after the object is damaged; prune stops counting it", async () => {
    const dest = join(work, "backups");
    const b = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const { id, key } = b.json<{ id: string; key: string }>();
    const row = async (): Promise<string> => (await runCli(["list", "--from", dest])).stdout.split("\n")[1]!;
    const listed = async (): Promise<Listed> => (await runCli(["list", "--from", dest, "--json"])).json<Listed[]>()[0]!;

    expect(await row()).toMatch(new RegExp(`^${id}\\s.*\\snever$`));
    expect(await listed()).toMatchObject({ lastVerifiedAt: null, lastVerification: null, verified: false });

    const pass = await runCli(["verify", "latest", "--from", dest, "-i", identity, "--json"]);
    expect(pass.code, pass.stderr).toBe(0);
    const passedAt = pass.json<{ verifiedAt: string }>().verifiedAt;
    expect(await row()).toMatch(new RegExp(`^${id}\\s.*\\sok read ${stamp(passedAt)}$`));
    expect(await listed()).toMatchObject({ lastVerifiedAt: passedAt, lastVerification: { at: passedAt, ok: true, level: "read" }, verified: true });

    // Damage the object's last byte (the age MAC of the final chunk): the size still matches, the SHA-256 does not.
    const file = join(dest, key);
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0x01, bytes.length - 1);
    writeFileSync(file, bytes);
    const fail = await runCli(["verify", "latest", "--from", dest, "-i", identity]);
    expect(fail.code).toBe(4);
    const failed = await listed();
    expect(failed).toMatchObject({ lastVerifiedAt: null, lastVerification: { ok: false, level: "read" }, verified: false });
    expect(Date.parse(failed.lastVerification!.at)).toBeGreaterThan(Date.parse(passedAt));
    expect(await row()).toMatch(new RegExp(`^${id}\\s.*\\sFAILED read ${stamp(failed.lastVerification!.at)}$`));

    // Restoring the bytes and checking only the checksum does not clear the failed full read.
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0x01, bytes.length - 1);
    writeFileSync(file, bytes);
    const checksum = await runCli(["verify", "latest", "--from", dest, "--json"]);
    expect(checksum.code, checksum.stderr).toBe(0);
    const checkedAt = checksum.json<{ verifiedAt: string; level: string }>();
    expect(checkedAt.level).toBe("checksum");
    expect(await listed()).toMatchObject({ lastVerifiedAt: null, lastVerification: { at: checkedAt.verifiedAt, ok: true, level: "checksum" }, verified: false });
    expect(await row()).toMatch(new RegExp(`^${id}\\s.*\\sok checksum ${stamp(checkedAt.verifiedAt)} \\(after FAILED read ${stamp(failed.lastVerification!.at)}\\)$`));

    const p = await runCli(["prune", "--from", dest, "--keep-last", "1", "--dry-run", "--json"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json<{ keep: Array<{ id: string; reasons: string[] }> }>().keep).toEqual([{ id, reasons: ["last 1/1", expect.stringMatching(/^within /)] }]);
  }, SLOW);
});
