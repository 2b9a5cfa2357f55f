// The GCS destination against a real JSON API: fake-gcs-server, which the global setup starts
// (scripts/build-peers.sh builds it), or Google's service in GCS_TEST_PROJECT.
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { open, readdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { createGcsDestination, type GcsDestinationOptions } from "../../runtime/src/destinations/gcs.js";
import { createS3Destination } from "../../runtime/src/destinations/s3.js";
import { MiB } from "../../runtime/src/destinations/part-size.js";
import { ConfigError, IntegrityError, NotFoundError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import { gcsSkipReason, gcsTestOptions } from "../support/fake-gcs-service.js";
import { uniqueStoreName } from "../support/service.js";
import { runDestinationContract } from "./contract.js";
import { DIST_SKIP, killDuringPut } from "./faults.js";
import { listAll } from "./helpers.js";
import { readAll } from "../support/streams.js";

const skip = gcsSkipReason();
if (skip) console.warn(`GCS destination tests skip: ${skip}`);
const endpoint = process.env.GCS_TEST_ENDPOINT;
const server = endpoint ? "GCS (fake-gcs-server)" : `GCS (project ${process.env.GCS_TEST_PROJECT})`;

const storage = () => new Storage(endpoint ? { apiEndpoint: endpoint, projectId: "test" } : { projectId: process.env.GCS_TEST_PROJECT });
const buckets: string[] = [];
async function bucketFor(label: string): Promise<string> {
  const name = uniqueStoreName(label);
  await storage().createBucket(name);
  buckets.push(name);
  return name;
}
afterAll(async () => {
  for (const name of buckets) {
    await storage()
      .bucket(name)
      .deleteFiles({ force: true })
      .then(() => storage().bucket(name).delete())
      .catch((err: unknown) => console.warn(`cleanup of ${name} failed: ${String(err)}`));
  }
});

function dest(bucket: string, extra: Partial<GcsDestinationOptions> = {}): Destination {
  return createGcsDestination({ ...gcsTestOptions(bucket), ...extra });
}

// Several resumable chunks of 256 KiB each.
runDestinationContract(server, async () => dest(await bucketFor("contract")), { multipartBytes: 3 * 256 * 1024 + 12_345, skip });
runDestinationContract(`${server} with a key prefix`, async () => dest(await bucketFor("contract-prefix"), { prefix: "/some/prefix/" }), { multipartBytes: 2 * 256 * 1024 + 1, skip });

describe.skipIf(!!skip)(`GCS destination specifics${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await bucketFor("specifics");
  });

  it("stores objects under the prefix and reports keys relative to it", async () => {
    const d = dest(bucket, { prefix: "team/db" });
    expect(d.url).toBe(`gs://${bucket}/team/db/`);
    await d.put("x/1", Readable.from([Buffer.from("one")]));
    const [files] = await storage().bucket(bucket).getFiles({ prefix: "team/" });
    expect(files.map((f) => f.name)).toEqual(["team/db/x/1"]);
    expect((await listAll(d, "")).map((i) => i.key)).toEqual(["x/1"]);
  });

  // The bytes are flipped where fake-gcs-server keeps them (its filesystem backend), leaving the
  // recorded hashes as they were: bit rot under unchanged metadata.
  it.skipIf(!process.env.GCS_TEST_ROOT)("a flipped byte in a stored object is an IntegrityError on get (the service's MD5 no longer matches)", async () => {
    const d = dest(bucket);
    const data = randomBytes(100_000);
    await d.put("flip/one", Readable.from([data]));
    const stored = (await readdir(path.join(process.env.GCS_TEST_ROOT as string, bucket), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .filter((f) => statSync(f).size === data.length);
    expect(stored).toHaveLength(1);
    const damaged = Buffer.from(data);
    damaged[50_000] = (damaged[50_000] as number) ^ 0xff;
    const fd = await open(stored[0] as string, "r+");
    await fd.write(damaged, 50_000, 1, 50_000);
    await fd.close();
    const err = await readAll(await d.get("flip/one")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/^gcs get flip\/one: the service's MD5 of the object differs from the bytes/);
  });

  it("a missing bucket is NotFoundError saying so", async () => {
    const d = dest(uniqueStoreName("missing"));
    await expect(d.head("k")).rejects.toThrow(NotFoundError);
    await expect(d.put("k", Readable.from([Buffer.from("x")]))).rejects.toThrow(NotFoundError);
  });

  it("rejects bad options with ConfigError naming the field", () => {
    const base = gcsTestOptions(bucket);
    expect(() => createGcsDestination({ ...base, bucket: "No_Such" })).toThrow(/^bucket: /);
    expect(() => createGcsDestination({ ...base, chunkSize: MiB + 1 })).toThrow("chunkSize: must be a positive multiple of 262144 (256 KiB) bytes");
    expect(() => createGcsDestination({ ...base, endpoint: "localhost:4443" })).toThrow(ConfigError);
    expect(() => createGcsDestination({ ...base, prefix: "a/../b" })).toThrow(/^prefix: /);
  });
});

// kill -9 mid-upload, for real: a child process runs the compiled module from dist/.
const killSkip = skip ?? DIST_SKIP;
describe.skipIf(!!killSkip)(`kill -9 during a GCS upload${killSkip ? ` (skipped: ${killSkip})` : ""}`, () => {
  it("leaves nothing listed: an unfinished resumable session is not an object", async () => {
    const bucket = await bucketFor("kill");
    await killDuringPut(`gs://${bucket}/pre`, "backups/killed", { remotes: { gcs: { ...gcsTestOptions(bucket), chunkSize: MiB } } });
    const d = dest(bucket, { prefix: "pre" });
    await expect(d.head("backups/killed")).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(d, "")).toEqual([]);
  });
});


// The S3-interoperability route: GCS's XML API at storage.googleapis.com with an HMAC key, through
// the ordinary S3 destination. fake-gcs-server does not emulate that API's writes (v1.56.1 answers
// an S3 PutObject with 400 and serves only listings), so this runs against Google's service only,
// when GCS_TEST_HMAC_ACCESS_ID, GCS_TEST_HMAC_SECRET and GCS_TEST_HMAC_BUCKET (an existing bucket) are set.
const hmacSkip =
  process.env.GCS_TEST_HMAC_ACCESS_ID && process.env.GCS_TEST_HMAC_SECRET && process.env.GCS_TEST_HMAC_BUCKET
    ? undefined
    : "GCS_TEST_HMAC_ACCESS_ID, GCS_TEST_HMAC_SECRET and GCS_TEST_HMAC_BUCKET are not set; fake-gcs-server has no XML API to write to";
runDestinationContract(
  "GCS through its S3-compatible XML API",
  () =>
    createS3Destination({
      bucket: process.env.GCS_TEST_HMAC_BUCKET as string,
      prefix: `cloudsync-test-${randomBytes(4).toString("hex")}`,
      endpoint: "https://storage.googleapis.com",
      region: "auto",
      accessKeyId: process.env.GCS_TEST_HMAC_ACCESS_ID,
      secretAccessKey: new Secret(process.env.GCS_TEST_HMAC_SECRET ?? ""),
    }),
  { multipartBytes: 2 * 5 * MiB + 1, skip: hmacSkip },
);
