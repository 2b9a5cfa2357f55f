import { createWriteStream, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, FIXTURES, FIXTURES_SKIP, runCli } from "../support/cli.js";
import { createTestBucket, deleteTestBucket, s3SkipReason } from "../support/s3-service.js";

const skip = CLI_SKIP ?? s3SkipReason() ?? FIXTURES_SKIP;
if (skip) console.warn(`skipping CLI-over-S3 tests: ${skip}`);

describe.skipIf(!!skip)("cloudsync against the real S3 server, as processes", () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let bucket: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-s3cli-"));
    identity = join(work, "identity.txt");
    recipient = (await runCli(["keys", "new", "--out", identity, "--json"])).json<{ recipient: string }>().recipient;
    bucket = await createTestBucket("cli", { versioning: true });
    env = {
      CLOUDSYNC_S3_ENDPOINT: process.env.S3_TEST_ENDPOINT!,
      AWS_ACCESS_KEY_ID: process.env.S3_TEST_ACCESS_KEY!,
      AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_SECRET_KEY!,
      AWS_REGION: process.env.S3_TEST_REGION || "us-east-1",
    };
  });
  afterAll(async () => {
    if (bucket) await deleteTestBucket(bucket);
  });

  it("backs up a multi-part archive, lists, verifies and restores it", async () => {
    const archive = join(work, "demo.archive");
    await pipeline(generateDemoArchive({ targetBytes: 20 << 20, seed: 3 }), createWriteStream(archive));
    const dest = `s3://${bucket}/home/mongo`;
    const b = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"], { env });
    expect(b.code, b.stderr).toBe(0);
    const id = b.json<{ id: string }>().id;

    const l = await runCli(["list", "--from", dest, "--json"], { env });
    expect(l.json<Array<{ id: string; key: string }>>().map((e) => [e.id, e.key])).toEqual([[id, `data/${id}.archive.gz.age`]]);

    const v = await runCli(["verify", id, "--from", dest, "-i", identity, "--json"], { env });
    expect(v.code, v.stderr).toBe(0);

    const target = join(work, "restored");
    const r = await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", identity], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(target, "cloudsync")).filter((f) => f.endsWith(".bson")).sort()).toEqual(["events.bson", "inventories.bson", "licenses.bson", "models.bson"]);
  });

  it("the real mongodump archive round-trips through S3", async () => {
    const dest = `s3://${bucket}/fixture`;
    const b = await runCli(["backup", "--from-archive", join(FIXTURES, "test.bar.archive"), "--to", dest, "-r", recipient, "--json"], { env });
    expect(b.code, b.stderr).toBe(0);
    const target = join(work, "fixture-restored");
    expect((await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", identity], { env })).code).toBe(0);
    expect(existsSync(join(target, "test", "bar.bson"))).toBe(true);
  });

  it("wrong credentials fail with a clear error that never shows the secret", async () => {
    const r = await runCli(["list", "--from", `s3://${bucket}/x`], { env: { ...env, AWS_SECRET_ACCESS_KEY: "WrongSecretValue12345" } });
    expect([5, 6]).toContain(r.code);
    expect(r.stdout + r.stderr).not.toContain("WrongSecretValue12345");
    expect(r.stderr).toMatch(/^cloudsync: s3 /m);
  });
});
