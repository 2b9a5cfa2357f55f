// The S3 destination against a real server: the Ceph RGW the global setup starts, or the
// developer's own endpoint when S3_TEST_ENDPOINT is set. Faults are injected for real by a TCP
// proxy in front of that server.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { ListMultipartUploadsCommand, ListObjectsV2Command, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { createS3Destination, type S3DestinationOptions } from "../../runtime/src/destinations/s3.js";
import { MiB } from "../../runtime/src/destinations/part-size.js";
import { AuthError, ConfigError, NotFoundError, RemoteError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import { startFaultProxy, type FaultProxy, type SeenRequest } from "../support/fault-proxy.js";
import { createTestBucket, deleteTestBucket, s3SkipReason, s3TestClient, s3TestOptions } from "../support/s3-service.js";
import { runDestinationContract } from "./contract.js";
import { readAll } from "../support/streams.js";
import { DIST_SKIP, killDuringPut, runSharedProxyCases } from "./faults.js";
import { listAll, pieces, sha256 } from "./helpers.js";

const skip = s3SkipReason();
if (skip) console.warn(`S3 destination tests skip: ${skip}`);
const server = process.env.S3_TEST_ENDPOINT ? `S3 at ${process.env.S3_TEST_ENDPOINT}` : "S3";
const PART = 5 * MiB;

const buckets: string[] = [];
async function bucketFor(label: string, versioning = false): Promise<string> {
  const bucket = await createTestBucket(label, { versioning });
  buckets.push(bucket);
  return bucket;
}
afterAll(async () => {
  for (const bucket of buckets) await deleteTestBucket(bucket).catch((err: unknown) => console.warn(`cleanup of ${bucket} failed: ${String(err)}`));
});

function dest(bucket: string, extra: Partial<S3DestinationOptions> = {}): Destination {
  return createS3Destination({ ...(s3TestOptions(bucket) as S3DestinationOptions), partSize: PART, ...extra });
}

/** The keys of the multipart uploads the server holds unfinished in `bucket`. */
const unfinishedIn = async (bucket: string): Promise<string[]> => ((await s3TestClient().send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key ?? "");

let contractBucket = "";
runDestinationContract(server, async () => dest((contractBucket = await bucketFor("contract"))), { multipartBytes: 2 * PART + 12_345, skip, unfinished: () => unfinishedIn(contractBucket) });
runDestinationContract(`${server} with a key prefix`, async () => dest(await bucketFor("contract-prefix"), { prefix: "/some/prefix/" }), {
  multipartBytes: 2 * PART + 1,
  skip,
});

describe.skipIf(!!skip)(`S3 destination specifics${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await bucketFor("specifics");
  });

  it("stores keys under the prefix and reports them relative to it", async () => {
    const d = dest(bucket, { prefix: "team/db" });
    expect(d.url).toBe(`s3://${bucket}/team/db/`);
    await d.put("x/1", Readable.from([Buffer.from("one")]));
    const raw = await s3TestClient().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "team/" }));
    expect(raw.Contents?.map((c) => c.Key)).toEqual(["team/db/x/1"]);
    expect((await listAll(d, "")).map((i) => i.key)).toEqual(["x/1"]);
  });

  it("a wrong secret is an AuthError that names the operation and never shows the secret", async () => {
    const secret = "definitely-not-the-secret-42";
    const d = dest(bucket, { secretAccessKey: new Secret(secret) });
    // HEAD answers carry no body, so only the status is known.
    await expect(d.head("anything")).rejects.toThrow("s3 head anything: access denied (HTTP 403); check the access key");
    const err = await d.get("anything").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toBe(
      "s3 get anything: access denied (SignatureDoesNotMatch); check the access key, secret and the key's permissions on the bucket. " +
        "On an object-lock bucket, deleting or overwriting a locked version is refused by design.",
    );
    const put = await d.put("k", Readable.from([Buffer.from("x")])).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(AuthError);
    expect(JSON.stringify(put) + String(put) + (put as Error).stack).not.toContain(secret);
  });

  it("a missing bucket is NotFoundError saying so", async () => {
    const d = dest(`cs-missing-${randomBytes(4).toString("hex")}`);
    await expect(d.head("k")).rejects.toThrow(NotFoundError);
    await expect(d.get("k")).rejects.toThrow("the bucket does not exist; create it or check the bucket name");
  });

  it("rejects bad options with ConfigError naming the field", () => {
    const base = s3TestOptions(bucket) as S3DestinationOptions;
    expect(() => createS3Destination({ ...base, bucket: "No_Such" })).toThrow(ConfigError);
    expect(() => createS3Destination({ ...base, partSize: MiB })).toThrow("partSize: must be an integer between 5242880 (5 MiB) and 5368709120 (5 GiB) bytes");
    expect(() => createS3Destination({ ...base, queueSize: 0 })).toThrow("queueSize: must be an integer between 1 and 64");
    expect(() => createS3Destination({ ...base, endpoint: "localhost:9000" })).toThrow(/^endpoint: /);
    expect(() => createS3Destination({ ...base, prefix: "a/../b" })).toThrow(/^prefix: /);
  });

  it("versioned bucket: two puts give two versions; delete adds a delete marker and keeps both", async () => {
    const vb = await bucketFor("versioned", true);
    const d = dest(vb);
    await d.put("v", Readable.from([Buffer.from("one")]));
    await d.put("v", Readable.from([Buffer.from("two")]));
    const client = s3TestClient();
    let versions = await client.send(new ListObjectVersionsCommand({ Bucket: vb, Prefix: "v" }));
    expect(versions.Versions?.map((v) => v.Size)).toEqual([3, 3]);
    expect(versions.DeleteMarkers ?? []).toEqual([]);
    await d.delete("v");
    versions = await client.send(new ListObjectVersionsCommand({ Bucket: vb, Prefix: "v" }));
    expect(versions.Versions).toHaveLength(2);
    expect(versions.DeleteMarkers?.map((m) => [m.Key, m.IsLatest])).toEqual([["v", true]]);
    await expect(d.head("v")).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(d, "")).toEqual([]);
  });
});

describe.skipIf(!!skip)(`S3 through a fault-injecting proxy${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bucket: string;
  let proxy: FaultProxy;
  beforeAll(async () => {
    bucket = await bucketFor("faults");
    proxy = await startFaultProxy(process.env.S3_TEST_ENDPOINT as string);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const viaProxy = (extra: Partial<S3DestinationOptions> = {}) => dest(bucket, { endpoint: proxy.endpoint, ...extra });
  const isPart = (r: Pick<SeenRequest, "method" | "url">) => r.method === "PUT" && r.url.includes("partNumber=");
  const since = (start: number) => proxy.requests.slice(start);
  const noUploadsLeft = async () => (await s3TestClient().send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  async function roundTrip(key: string, size: number, extra: Partial<S3DestinationOptions> = {}): Promise<void> {
    const data = randomBytes(size);
    const result = await viaProxy(extra).put(key, Readable.from(pieces(data, 256 * 1024)));
    expect(result).toEqual({ key, size, sha256: sha256(data) });
    expect((await readAll(await dest(bucket).get(key))).equals(data)).toBe(true);
  }

  it("sends Content-MD5 and none of the SDK's default checksum headers (B2 rejects them)", async () => {
    const start = proxy.requests.length;
    proxy.setPlan(() => undefined);
    await roundTrip("plain/multi", 2 * PART + 3);
    await roundTrip("plain/single", 1000);
    const puts = since(start).filter((r) => r.method === "PUT");
    expect(puts.map((r) => (isPart(r) ? "part" : "object"))).toEqual(["part", "part", "part", "object"]);
    for (const r of since(start)) expect(Object.keys(r.headers).filter((h) => h.startsWith("x-amz-checksum") || h === "x-amz-sdk-checksum-algorithm")).toEqual([]);
    for (const r of puts) expect(r.headers["content-md5"]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  });

  it("retries 503s on every part and on the small-object put, then succeeds", async () => {
    const failed = new Set<string>();
    proxy.setPlan((r) => (r.method === "PUT" && !failed.has(r.url) && failed.add(r.url) ? { kind: "503" } : undefined));
    const start = proxy.requests.length;
    await roundTrip("retry/503-multi", 2 * PART + 5);
    await roundTrip("retry/503-single", 10);
    expect(since(start).filter((r) => r.fault?.kind === "503")).toHaveLength(4);
  });

  it("retries a connection reset in the middle of a part's body", async () => {
    let resets = 0;
    proxy.setPlan((r) => (isPart(r) && r.url.includes("partNumber=2&") && resets++ === 0 ? { kind: "reset" } : undefined));
    await roundTrip("retry/reset", 2 * PART + 7);
    expect(resets).toBe(2);
  });

  it("retries a stalled request after requestTimeoutMs", async () => {
    let stalls = 0;
    proxy.setPlan((r) => (isPart(r) && stalls++ === 0 ? { kind: "stall", ms: 4_000 } : undefined));
    const started = Date.now();
    await roundTrip("retry/stall", PART + 1, { requestTimeoutMs: 1_000 });
    expect(stalls).toBe(3);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  // Ceph checks the SigV4 payload hash before Content-MD5; S3 and B2 answer BadDigest. Both are retried.
  it("a part damaged in transit is refused by the server and sent again", async () => {
    let flips = 0;
    proxy.setPlan((r) => (isPart(r) && flips++ === 0 ? { kind: "flip" } : undefined));
    await roundTrip("retry/flip", 2 * PART + 11);
    expect(flips).toBe(4);
  });

  it("a persistent 503 on parts fails with RemoteError, nothing listed, no unfinished upload left", async () => {
    proxy.setPlan((r) => (isPart(r) ? { kind: "503" } : undefined));
    const key = "fail/parts";
    const err = await viaProxy({ maxAttempts: 3 })
      .put(key, Readable.from(pieces(randomBytes(2 * PART + 1), 256 * 1024)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).operation).toBe(`s3 put ${key}`);
    expect((err as Error).message).toBe(`s3 put ${key}: ServiceUnavailable, HTTP 503: injected by fault proxy after 3 attempts`);
    proxy.setPlan(() => undefined);
    await expect(dest(bucket).head(key)).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(dest(bucket), "fail/")).toEqual([]);
    expect(await noUploadsLeft()).toEqual([]);
  });

  it("a persistent 503 on a small put fails with RemoteError and stores nothing", async () => {
    proxy.setPlan((r) => (r.method === "PUT" ? { kind: "503" } : undefined));
    const err = await viaProxy({ maxAttempts: 2 }).put("fail/small", Readable.from([Buffer.from("tiny")])).catch((e: unknown) => e);
    expect((err as Error).message).toBe("s3 put fail/small: ServiceUnavailable, HTTP 503: injected by fault proxy after 2 attempts");
    proxy.setPlan(() => undefined);
    await expect(dest(bucket).head("fail/small")).rejects.toBeInstanceOf(NotFoundError);
  });

  runSharedProxyCases({ piece: "part", pieceSize: PART, proxy: () => proxy, viaProxy, isPiece: isPart });
});

// kill -9 mid-upload, for real: a child process runs the compiled module from dist/.
const killSkip = skip ?? DIST_SKIP;
describe.skipIf(!!killSkip)(`kill -9 during an S3 upload${killSkip ? ` (skipped: ${killSkip})` : ""}`, () => {
  it("leaves nothing under the key; the orphaned multipart upload is the bucket lifecycle rule's to expire", async () => {
    const bucket = await bucketFor("kill");
    const opts = s3TestOptions(bucket) as S3DestinationOptions;
    const uploads = () => unfinishedIn(bucket);
    await killDuringPut(`s3://${bucket}/pre`, "backups/killed", { s3: { ...opts, secretAccessKey: process.env.S3_TEST_SECRET_KEY, partSize: PART }, landed: async () => (await uploads()).length > 0 });
    const d = dest(bucket, { prefix: "pre" });
    await expect(d.head("backups/killed")).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(d, "")).toEqual([]);
    expect(await uploads()).toEqual(["pre/backups/killed"]);
  });
});
