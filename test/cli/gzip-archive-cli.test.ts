import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, FIXTURES, FIXTURES_SKIP, filesUnder, runCli } from "../support/cli.js";

const skip = CLI_SKIP ?? FIXTURES_SKIP;
if (skip) console.warn(`skipping gzipped --from-archive tests: ${skip}`);

// `mongodump --archive --gzip` writes a gzip stream around the archive; users pipe exactly that.
describe.skipIf(!!skip)("backup --from-archive takes a gzipped mongodump archive (issue 9 item 15)", () => {
  let work: string;
  let recipient: string;
  let gz: string;
  let plainTotals: unknown;
  const fixture = join(FIXTURES, "test.bar.archive");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-gzsrc-"));
    const made = await runCli(["keys", "new", "--out", join(work, "identity.txt"), "--json"]);
    expect(made.code, made.stderr).toBe(0);
    recipient = made.json<{ recipient: string }>().recipient;
    gz = join(work, "test.bar.archive.gz");
    writeFileSync(gz, execFileSync("gzip", ["-c", fixture]));
    const plain = await runCli(["backup", "--from-archive", fixture, "--to", join(work, "backups-plain"), "-r", recipient, "--json"]);
    expect(plain.code, plain.stderr).toBe(0);
    plainTotals = plain.json<{ totals: unknown }>().totals;
  });

  for (const from of ["file", "stdin"] as const) {
    it(`from a ${from}: the backup holds the same namespaces and documents as the plain archive`, async () => {
      const dest = join(work, `backups-${from}`);
      const args = ["backup", "--from-archive", from === "file" ? gz : "-", "--to", dest, "-r", recipient, "--json"];
      const r = await runCli(args, from === "stdin" ? { input: readFileSync(gz) } : {});
      expect(r.code, r.stderr).toBe(0);
      expect(plainTotals).toMatchObject({ namespaces: 2, documents: 2 });
      expect(r.json<{ totals: { namespaces: number; documents: number } }>().totals).toEqual(plainTotals);
      expect(filesUnder(dest).filter((f) => f.startsWith("manifests/"))).toHaveLength(1);
    });
  }

  it("a gzip stream that is not an archive is refused with exit 4 and leaves nothing", async () => {
    const junk = join(work, "junk.gz");
    writeFileSync(junk, execFileSync("gzip", ["-c"], { input: Buffer.from("not an archive at all") }));
    const dest = join(work, "backups-junk");
    const r = await runCli(["backup", "--from-archive", junk, "--to", dest, "-r", recipient]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("not a mongodump archive");
    expect(filesUnder(dest).filter((f) => !f.startsWith("."))).toEqual([]);
  });

  it("a truncated gzip stream is exit 4 naming the layer, and leaves nothing", async () => {
    const cut = join(work, "cut.gz");
    writeFileSync(cut, readFileSync(gz).subarray(0, 200));
    const dest = join(work, "backups-cut");
    const r = await runCli(["backup", "--from-archive", cut, "--to", dest, "-r", recipient]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe("cloudsync: gzip data is damaged or truncated: unexpected end of file\n");
    expect(filesUnder(dest)).toEqual([]);
  });
});
