/**
 * The B2 bucket's dynamic provider against the real S3 server of the test suite (Ceph RGW, or
 * S3_TEST_ENDPOINT): first the operations directly, then the provider exactly as Pulumi ships
 * it — serialized by the SDK's closure serializer and loaded as a CommonJS module, the way the
 * dynamic-provider host runs it.
 */
import * as S3 from "@aws-sdk/client-s3";
import * as pulumi from "@pulumi/pulumi";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Module } from "node:module";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configureBucket, createBucket, deleteBucket, readBucket, replaceKeys, s3CompatBucketProvider, type S3CompatBucketInputs } from "../../infra/s3-compat-bucket.js";
import { headBucketStatus, s3SkipReason, s3TestClient } from "../support/s3-service.js";
import { repoRoot } from "../support/paths.js";

const skip = s3SkipReason();
if (skip) console.warn(`infra s3-compat bucket tests skipped: ${skip}`);

const inputs = (bucket: string, over: Partial<S3CompatBucketInputs> = {}): S3CompatBucketInputs => ({
  endpoint: process.env.S3_TEST_ENDPOINT ?? "",
  region: process.env.S3_TEST_REGION || "us-east-1",
  bucket,
  prefix: "backups/",
  retentionDays: 30,
  noncurrentDays: 7,
  objectLockDays: 0,
  objectLockMode: "GOVERNANCE",
  // Ceph RGW has no SSE-S3 backend configured here; the AES256 path is checked separately below.
  encryption: "none",
  forcePathStyle: true,
  accessKeyId: process.env.S3_TEST_ACCESS_KEY ?? "",
  secretAccessKey: process.env.S3_TEST_SECRET_KEY ?? "",
  ...over,
});
/**
 * An HTTP proxy to the real S3 server that answers PutBucketVersioning the way Backblaze B2's S3
 * API does (501 NotImplemented: B2 documents only GET `?versioning`, its buckets are always
 * versioned). With `versioned`, the request still reaches the server first, so the bucket ends up
 * versioned like a B2 bucket; without, it does not, like a server that cannot version at all.
 * Everything else is forwarded byte for byte (the Host header too, so signatures still verify).
 */
async function b2VersioningProxy(target: string, versioned: boolean): Promise<{ endpoint: string; putVersioningCalls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = http.request(new URL(req.url ?? "/", target), { method: req.method, headers: req.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      out.on("error", reject);
      out.end(body);
    });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const putVersioning = req.method === "PUT" && new URL(req.url ?? "/", target).searchParams.has("versioning");
      if (putVersioning) calls++;
      const answer = putVersioning
        ? (versioned ? forward(req, body) : Promise.resolve()).then(() => ({
            status: 501,
            headers: { "content-type": "application/xml" },
            body: Buffer.from('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>'),
          }))
        : forward(req, body);
      answer.then(
        (a) => {
          res.writeHead(a.status, a.headers);
          res.end(a.body);
        },
        (e: Error) => {
          res.writeHead(502);
          res.end(e.message);
        },
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    putVersioningCalls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The provider exactly as Pulumi ships it: serialized by the SDK's closure serializer, loaded as a CommonJS module. */
async function shippedProvider(): Promise<pulumi.dynamic.ResourceProvider> {
  const sf = await pulumi.runtime.serializeFunction(() => s3CompatBucketProvider, { allowSecrets: true });
  const mod = new Module(path.join(repoRoot, "serialized-provider.js")) as Module & { _compile(code: string, file: string): void; paths: string[] };
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(repoRoot);
  mod._compile(sf.text, path.join(repoRoot, "serialized-provider.js"));
  return (mod.exports as { handler(): pulumi.dynamic.ResourceProvider }).handler();
}

const unique = (label: string): string => `cs-infra-${label}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
const created: string[] = [];

describe.skipIf(skip !== undefined)(`dynamic S3-compatible bucket on the real S3 server${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const s3 = skip ? undefined : s3TestClient();
  afterAll(async () => {
    for (const b of created) await s3?.send(new S3.DeleteBucketCommand({ Bucket: b })).catch(() => undefined);
    s3?.destroy();
  });

  it("creates a versioned bucket with the exact lifecycle rules, reads it back, updates and deletes it", async () => {
    const name = unique("ops");
    created.push(name);
    await createBucket(S3, inputs(name));
    expect((await s3!.send(new S3.GetBucketVersioningCommand({ Bucket: name }))).Status).toBe("Enabled");
    const lc = await s3!.send(new S3.GetBucketLifecycleConfigurationCommand({ Bucket: name }));
    const byId = (rules: S3.LifecycleRule[] | undefined) => [...(rules ?? [])].sort((x, y) => (x.ID ?? "").localeCompare(y.ID ?? ""));
    expect(byId(lc.Rules).map((r) => [r.ID, r.Status, r.Filter?.Prefix ?? r.Prefix, r.Expiration?.Days, r.NoncurrentVersionExpiration?.NoncurrentDays, r.AbortIncompleteMultipartUpload?.DaysAfterInitiation])).toEqual([
      ["abort-incomplete-multipart", "Enabled", "", undefined, undefined, 1],
      ["expire-current-backups", "Enabled", "backups/", 30, undefined, undefined],
      ["expire-noncurrent-versions", "Enabled", "backups/", undefined, 7, undefined],
    ]);
    const state = await readBucket(S3, inputs(name));
    expect(state && [state.versioningStatus, state.lifecycleRuleIds, state.publicAccess]).toEqual(["Enabled", ["abort-incomplete-multipart", "expire-current-backups", "expire-noncurrent-versions"], false]);

    await configureBucket(S3, inputs(name, { retentionDays: 2 }));
    const lc2 = await s3!.send(new S3.GetBucketLifecycleConfigurationCommand({ Bucket: name }));
    expect(lc2.Rules?.find((r) => r.ID === "expire-current-backups")?.Expiration?.Days).toBe(2);

    await expect(createBucket(S3, inputs(name))).rejects.toThrow(`s3 create-bucket ${name}: the bucket already exists; choose another cloudsync:bucketName, or adopt it with \`pulumi import\``);
    await deleteBucket(S3, inputs(name));
    expect(await readBucket(S3, inputs(name))).toBeUndefined();
  });

  it("enables object lock at creation with the default retention", async () => {
    const name = unique("lock");
    created.push(name);
    await createBucket(S3, inputs(name, { objectLockDays: 1 }));
    const lock = await s3!.send(new S3.GetObjectLockConfigurationCommand({ Bucket: name }));
    expect(lock.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } });
    await deleteBucket(S3, inputs(name));
  });

  it("reports the server's answer to default encryption, naming the call", async () => {
    const name = unique("sse");
    created.push(name);
    const outcome = await createBucket(S3, inputs(name, { encryption: "AES256" })).then(
      () => "ok",
      (e: Error) => e.message,
    );
    // B2 and AWS accept AES256; RGW without an SSE-S3 backend refuses it. Either way the outcome is exact.
    console.log(`s3-compat bucket: default encryption AES256 on this server: ${outcome}`);
    if (outcome === "ok") {
      const enc = await s3!.send(new S3.GetBucketEncryptionCommand({ Bucket: name }));
      expect(enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe("AES256");
    } else {
      expect(outcome).toMatch(new RegExp(`^s3 put-bucket-encryption ${name}: .* \\(the new bucket was deleted again\\)$`));
      // All or nothing: the next `pulumi up` must not stop at "the bucket already exists".
      expect(await headBucketStatus(name, s3)).toBe(404);
    }
    await s3!.send(new S3.DeleteBucketCommand({ Bucket: name })).catch(() => undefined);
  });

  it("reads back what the server has: create's outputs are what read sees, and a rule changed behind its back shows", async () => {
    const provider = await shippedProvider();
    const name = unique("drift");
    created.push(name);
    const news = inputs(name);
    const c = await provider.create(news);
    const r = await provider.read!(name, c.outs as S3CompatBucketInputs);
    // A refresh right after `up` must change nothing.
    expect(r.props).toEqual(c.outs);
    expect(c.outs).toMatchObject({ retentionDays: 30, noncurrentDays: 7, prefix: "backups/", encryption: "none", versioningStatus: "Enabled", publicAccess: false });
    await s3!.send(
      new S3.PutBucketLifecycleConfigurationCommand({
        Bucket: name,
        LifecycleConfiguration: { Rules: [{ ID: "expire-current-backups", Status: "Enabled", Filter: { Prefix: "other/" }, Expiration: { Days: 9 } }] },
      }),
    );
    const drifted = await provider.read!(name, c.outs as S3CompatBucketInputs);
    expect(drifted.props).toMatchObject({ prefix: "other/", retentionDays: 9, noncurrentDays: 0, lifecycleRuleIds: ["expire-current-backups"] });
    expect((await provider.diff!(name, drifted.props as S3CompatBucketInputs, news)).changes).toBe(true);
    await provider.update!(name, drifted.props as S3CompatBucketInputs, news);
    expect((await provider.read!(name, news)).props).toMatchObject({ prefix: "backups/", retentionDays: 30, noncurrentDays: 7 });
    await provider.delete!(name, news);
  });

  it("runs create/read/diff/update/delete as Pulumi ships it: serialized and loaded as CommonJS", async () => {
    const provider = await shippedProvider();

    const name = unique("dyn");
    created.push(name);
    const news = inputs(name);
    const c = await provider.create(news);
    expect([c.id, c.outs.versioningStatus]).toEqual([name, "Enabled"]);
    const r = await provider.read!(name, news);
    expect([r.id, r.props?.lifecycleRuleIds]).toEqual([name, ["abort-incomplete-multipart", "expire-current-backups", "expire-noncurrent-versions"]]);
    const changed = inputs(name, { noncurrentDays: 3 });
    expect(await provider.diff!(name, news, changed)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    await provider.update!(name, news, changed);
    const lc = await s3!.send(new S3.GetBucketLifecycleConfigurationCommand({ Bucket: name }));
    expect(lc.Rules?.find((r) => r.ID === "expire-noncurrent-versions")?.NoncurrentVersionExpiration?.NoncurrentDays).toBe(3);
    await provider.delete!(name, changed);
    expect((await provider.read!(name, changed)).id).toBe("");
  });

  it("creates a bucket on a server that answers PutBucketVersioning NotImplemented (B2) once GetBucketVersioning reports Enabled", async () => {
    const proxy = await b2VersioningProxy(process.env.S3_TEST_ENDPOINT!, true);
    try {
      const provider = await shippedProvider();
      const name = unique("b2v");
      created.push(name);
      const c = await provider.create(inputs(name, { endpoint: proxy.endpoint }));
      expect([c.id, c.outs.versioningStatus, proxy.putVersioningCalls()]).toEqual([name, "Enabled", 1]);
      expect((await s3!.send(new S3.GetBucketLifecycleConfigurationCommand({ Bucket: name }))).Rules?.length).toBe(3);
      await provider.update!(name, inputs(name, { endpoint: proxy.endpoint }), inputs(name, { endpoint: proxy.endpoint, retentionDays: 5 }));
      expect(proxy.putVersioningCalls()).toBe(2);
      await provider.delete!(name, inputs(name, { endpoint: proxy.endpoint }));
    } finally {
      await proxy.close();
    }
  });

  it("refuses a server that answers PutBucketVersioning NotImplemented and does not version the bucket", async () => {
    const proxy = await b2VersioningProxy(process.env.S3_TEST_ENDPOINT!, false);
    try {
      const name = unique("nov");
      created.push(name);
      await expect((await shippedProvider()).create(inputs(name, { endpoint: proxy.endpoint }))).rejects.toThrow(
        `s3 put-bucket-versioning ${name}: the server does not implement PutBucketVersioning and reports versioning never enabled; this bucket would keep no history, so use a service whose buckets are versioned`,
      );
    } finally {
      await proxy.close();
    }
  });
});

describe("replacement rules (pure)", () => {
  it("replaces on bucket, endpoint, region, and switching object lock; updates in place otherwise", () => {
    const a = inputs("a");
    expect(replaceKeys(a, { ...a, retentionDays: 9, objectLockDays: 0 })).toEqual([]);
    expect(replaceKeys(a, { ...a, bucket: "b", objectLockDays: 3 })).toEqual(["bucket", "objectLockDays"]);
    expect(replaceKeys({ ...a, objectLockDays: 3 }, { ...a, objectLockDays: 5 })).toEqual([]);
  });
});
