import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Command } from "commander";
import { MongoClient } from "mongodb";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCliApp } from "../../runtime/src/cli/app.js";
import { register } from "../../runtime/src/cli/commands/estimate.js";
import { DEFAULT_PRICES } from "../../runtime/src/estimate/prices.js";
import { measureDatabase } from "../../runtime/src/estimate/measure.js";
import { Secret } from "../../runtime/src/secret.js";
import { CLI_SKIP, FIXTURES, FIXTURES_SKIP, runCli } from "../support/cli.js";
import { mongoTestUri } from "../support/mongo-service.js";

/** Runs `cloudsync estimate …` in this process (the command module, as the CLI registers it). */
async function estimate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (add: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (add(c.toString()), cb()) });
  const app = createCliApp({ stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: {} });
  const program = new Command("cloudsync").option("--json").option("-q, --quiet").option("--debug").option("-c, --config <file>").exitOverride();
  register(program, app);
  await program.parseAsync(args, { from: "user" });
  return { code: app.exitCode, stdout, stderr };
}

const savedUri = process.env.MONGODB_URI;
afterEach(() => {
  if (savedUri === undefined) delete process.env.MONGODB_URI;
  else process.env.MONGODB_URI = savedUri;
});

const skip = CLI_SKIP ?? FIXTURES_SKIP;
if (skip) console.warn(`skipping estimate-over-CLI-backups tests: ${skip}`);

describe.skipIf(!!skip)("cloudsync estimate over backups made by the CLI", () => {
  let dest: string;
  let sizes: number[];

  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), "cloudsync-estimate-"));
    dest = join(work, "backups");
    sizes = [];
    for (let i = 0; i < 2; i++) {
      const b = await runCli(["backup", "--from-archive", join(FIXTURES, "test.bar.archive"), "--to", dest, "--allow-unencrypted", "--json"]);
      expect(b.code, b.stderr).toBe(0);
      sizes.push(b.json<{ size: number }>().size);
    }
  });

  it("--json: sizes from the newest backup, database not measured without --uri", async () => {
    delete process.env.MONGODB_URI;
    const r = await estimate(["estimate", "--from", dest, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("database size unknown: not measured: pass --uri or set MONGODB_URI\n");
    const out = JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(out.database).toEqual({ known: false, reason: "not measured: pass --uri or set MONGODB_URI" });
    expect(out.backups.count).toBe(2);
    expect(out.basis).toBe("newest-backup");
    expect(out.backupBytes).toBe(sizes[1]);
    expect(out.local).toEqual({ days: 7, backupsKept: 7, bytes: 7 * sizes[1]!, bytesIn12Months: out.backupBytesIn12Months * 7 });
    expect(out.cloud.backupsKept).toBe(30);
    expect(out.requestsPerMonth).toEqual({ writes: 90, lists: 60, reads: 930 });
    expect(out.pricesAsOf).toBe(DEFAULT_PRICES.asOf);
    expect(out.providers.map((p: { id: string }) => p.id)).toEqual(["backblaze-b2", "aws-s3-standard", "gcs-standard", "azure-blob-hot"]);
  });

  it("human output: the table and the price date; --prices and --cloud-days are honoured", async () => {
    const work = mkdtempSync(join(tmpdir(), "cloudsync-prices-"));
    const prices = join(work, "prices.json");
    writeFileSync(prices, JSON.stringify({ ...DEFAULT_PRICES, asOf: "2027-01-01", providers: [DEFAULT_PRICES.providers[0]] }));
    delete process.env.MONGODB_URI;
    const r = await estimate(["estimate", "--from", dest, "--prices", prices, "--cloud-days", "90"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")[0]).toBe("database   size unknown: not measured: pass --uri or set MONGODB_URI");
    expect(r.stdout).toContain("cloud 90 d = 90 backups");
    expect(r.stdout).toMatch(/^PROVIDER\s+STORAGE\s+REQUESTS\s+VERIFY EGRESS\s+MONTHLY\s+IN 12 MONTHS\s+ONE RESTORE$/m);
    expect(r.stdout).toContain("Backblaze B2 (single class)");
    expect(r.stdout).not.toContain("AWS S3");
    expect(r.stdout).toContain("prices as of 2027-01-01");
  });

  it("a bad flag or price file is a config error naming it (exit 2)", async () => {
    expect(await estimate(["estimate", "--from", dest, "--cloud-days", "0"])).toMatchObject({ code: 2, stderr: 'cloudsync: --cloud-days: must be a number above 0, got "0"\n' });
    const r = await estimate(["estimate", "--from", dest, "--prices", "/nonexistent/prices.json"]);
    expect(r).toMatchObject({ code: 2, stderr: "cloudsync: --prices: cannot read /nonexistent/prices.json: ENOENT\n" });
  });

  it("an empty destination with no database is not found (exit 3)", async () => {
    delete process.env.MONGODB_URI;
    const empty = mkdtempSync(join(tmpdir(), "cloudsync-empty-"));
    const r = await estimate(["estimate", "--from", empty]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("cloudsync: nothing to estimate from: no backups found and database size unknown: not measured: pass --uri or set MONGODB_URI\n");
  });
});

const uri = mongoTestUri();
const kind = process.env.MONGODB_TEST_KIND;
describe.skipIf(!uri)(`measureDatabase${uri ? "" : " (skipped: no MongoDB to measure; set MONGODB_URI)"}`, () => {
  it("with jongodb (no listDatabases/dbStats) says why the size is unknown", async (ctx) => {
    ctx.skip(kind !== "jongodb", `the test MongoDB is ${kind ?? "unknown"}, not jongodb`);
    const m = await measureDatabase(new Secret(uri!));
    expect(m.known).toBe(false);
    if (!m.known) expect(m.reason).toMatch(/listDatabases|no such (command|cmd)|not (supported|found)/i);
  });
  it("sums the statistics of the collections a backup would dump (needs a real mongod: set MONGODB_URI; jongodb lacks listDatabases and dbStats)", async (ctx) => {
    ctx.skip(kind !== "real", `needs a real mongod (set MONGODB_URI); the test MongoDB is ${kind ?? "unknown"}, which lacks listDatabases and dbStats`);
    const client = new MongoClient(uri!);
    try {
      await client.db("cloudsync_estimate_test").collection("c").insertOne({ n: 1 });
    } finally {
      await client.close();
    }
    const m = await measureDatabase(new Secret(uri!));
    expect(m.known).toBe(true);
    if (m.known) {
      expect(m.size.documents).toBeGreaterThanOrEqual(1);
      expect(m.size.dataBytes).toBeGreaterThan(0);
    }
  });
  it("an unreachable server is reported, not thrown", async () => {
    const m = await measureDatabase(new Secret("mongodb://user:hunter2@127.0.0.1:1/"), { serverSelectionTimeoutMS: 300 });
    expect(m.known).toBe(false);
    if (!m.known) {
      expect(m.reason).not.toContain("hunter2");
      expect(m.reason).toMatch(/^mongodb connect mongodb:\/\/user:\*\*redacted\*\*@127\.0\.0\.1:1\/?: /);
    }
  });
});
