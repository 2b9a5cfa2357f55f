/**
 * The `cloud` stack's whole lifecycle under the real Pulumi engine (test/infra/engine.ts) against
 * the suite's real S3 server (Ceph RGW): provider `backblaze` pointed at it through a loopback
 * `cloudsync:b2Endpoint`, no metadata server (its provider, pulumi-command, is not buildable
 * here), the policy pack loaded for every `up` and `preview`. Each step's bucket is read back
 * with the S3 API directly, never through infra/ code: `up` creates it, a second `preview` and
 * `refresh` change nothing, a rule changed behind Pulumi's back is seen by `refresh` and restored
 * by `up`, a config change updates in place, and `destroy` refuses the protected bucket and, once
 * unprotected, leaves it and its objects in place (retainOnDelete). A second stack checks object
 * lock's default retention.
 *
 * Default encryption: the server is probed first. One with SSE-S3 (B2, AWS, a newer RGW with a
 * KMS backend) runs the lifecycle with `AES256` and every policy mandatory. Ceph RGW 16 (Pacific,
 * Debian 12's) has no bucket-encryption API at all (PutBucketEncryption answers 400
 * InvalidArgument, and SSE-S3 arrived only in Ceph 17 with a Vault backend), so there the test
 * first shows that `up` with `AES256` fails naming the call and leaves no bucket behind, then
 * runs the lifecycle with `bucketEncryption none`, the pack's `bucket-encryption-enabled` set to
 * advisory through `--policy-pack-config` (the engine's own way to relax one policy; the other
 * rules stay mandatory) and its violation asserted in the output.
 */
import * as S3 from "@aws-sdk/client-s3";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK_ENDPOINT } from "../../infra/b2-endpoint.js";
import { deleteTestBucket, headBucketStatus, s3SkipReason, s3TestClient } from "../support/s3-service.js";
import { allOk, engineSkip, project, type EngineProject, type EngineRun } from "./engine.js";

const endpoint = process.env.S3_TEST_ENDPOINT ?? "";
const skip =
  engineSkip ??
  s3SkipReason() ??
  (LOOPBACK_ENDPOINT.test(endpoint) ? undefined : `S3_TEST_ENDPOINT ${endpoint} is not on a loopback host, and cloudsync:b2Endpoint takes only B2 or a loopback test server`);
if (skip) console.warn(`real-engine cloud lifecycle tests skipped: ${skip}`);

const STEP = { timeout: 600_000 };
const unique = (label: string): string => `cs-engine-${label}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;

/** The run, asserted to exit with `status` (the engine's output is the failure message). */
function expectExit(r: EngineRun, status: number | "nonzero"): string {
  if (status === "nonzero") expect(r.status, r.out).not.toBe(0);
  else expect(r.status, r.out).toBe(status);
  return r.out;
}

/** The stack of `p` on the test server: loopback endpoint, admin key = the test keys, no metadata server. */
function initStack(p: EngineProject, stack: string, bucket: string, extra: [string, string][]): void {
  allOk(p, [
    ["stack", "init", stack, "--secrets-provider", "passphrase"],
    ["config", "set", "--secret", "cloudsync:b2AdminKeyId", process.env.S3_TEST_ACCESS_KEY ?? "", "-s", stack],
    ["config", "set", "--secret", "cloudsync:b2AdminKey", process.env.S3_TEST_SECRET_KEY ?? "", "-s", stack],
    ["config", "set", "cloudsync:b2Endpoint", endpoint, "-s", stack],
    ["config", "set", "cloudsync:b2Region", process.env.S3_TEST_REGION || "us-east-1", "-s", stack],
    ["config", "set", "cloudsync:metadataEnabled", "false", "-s", stack],
    ["config", "set", "cloudsync:bucketName", bucket, "-s", stack],
    ...extra.map(([k, v]) => ["config", "set", `cloudsync:${k}`, v, "-s", stack]),
  ]);
}

/** The bucket's lifecycle rules as [id, status, prefix, expiration days, noncurrent days, abort days], by id. */
async function lifecycleOf(s3: S3.S3Client, bucket: string): Promise<unknown[][]> {
  const lc = await s3.send(new S3.GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
  return [...(lc.Rules ?? [])]
    .sort((x, y) => (x.ID ?? "").localeCompare(y.ID ?? ""))
    .map((r) => [r.ID, r.Status, r.Filter?.Prefix ?? r.Prefix, r.Expiration?.Days, r.NoncurrentVersionExpiration?.NoncurrentDays, r.AbortIncompleteMultipartUpload?.DaysAfterInitiation]);
}

const rules = (retention: number, noncurrent: number) => [
  ["abort-incomplete-multipart", "Enabled", "", undefined, undefined, 1],
  ["expire-current-backups", "Enabled", "backups/", retention, undefined, undefined],
  ["expire-noncurrent-versions", "Enabled", "backups/", undefined, noncurrent, undefined],
];

/** Whether the server takes default encryption AES256 (probed on a throw-away bucket), else its answer. */
async function probeEncryption(s3: S3.S3Client): Promise<{ ok: true } | { ok: false; answer: string }> {
  const Bucket = unique("sse");
  await s3.send(new S3.CreateBucketCommand({ Bucket }));
  try {
    await s3.send(new S3.PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] } }));
    return { ok: true };
  } catch (e) {
    return { ok: false, answer: `${(e as Error).name} (HTTP ${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode})` };
  } finally {
    // Never DeleteBucketEncryption here: RGW 16 takes DELETE /<bucket>?encryption for a DeleteBucket.
    await s3.send(new S3.DeleteBucketCommand({ Bucket }));
  }
}

describe.skipIf(skip !== undefined)(`cloud stack lifecycle under the real engine against the real S3 server${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const s3 = skip ? undefined : s3TestClient();
  const buckets: string[] = [];
  const projects: EngineProject[] = [];
  const bucket = unique("up");
  const stack = "cloud";
  const started = performance.now();
  let p: EngineProject;
  let encryption: "AES256" | "none" = "AES256";
  let policy: string[] = [];

  beforeAll(async () => {
    p = project(stack);
    projects.push(p);
    buckets.push(bucket);
    const probe = await probeEncryption(s3!);
    if (!probe.ok) {
      console.warn(`engine-cloud: this S3 server (Ceph RGW here) answers PutBucketEncryption AES256 with ${probe.answer}: no default bucket encryption; the lifecycle runs with bucketEncryption none and bucket-encryption-enabled advisory`);
      encryption = "none";
    }
    const config = path.join(p.dir, "policy-config.json");
    writeFileSync(config, JSON.stringify({ "bucket-encryption-enabled": { enforcementLevel: "advisory" } }));
    policy = ["--policy-pack", p.policyPack, ...(encryption === "none" ? ["--policy-pack-config", config] : [])];
    initStack(p, stack, bucket, [["noncurrentDays", "7"]]);
  }, STEP.timeout);

  afterAll(async () => {
    for (const b of buckets) await deleteTestBucket(b).catch(() => undefined);
    s3?.destroy();
    projects.forEach((x) => x.cleanup());
    console.log(`engine-cloud: the whole file took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });

  it("without default encryption on the server, `up` with AES256 fails naming the call and leaves no bucket behind", STEP, async (ctx) => {
    if (encryption === "AES256") ctx.skip("this S3 server has default encryption");
    const out = expectExit(p.pulumi(["up", "--yes", "-s", stack, "--policy-pack", p.policyPack]), "nonzero");
    expect(out).toContain(`s3 put-bucket-encryption ${bucket}: InvalidArgument`);
    expect(out).toContain("(the new bucket was deleted again)");
    expect(await headBucketStatus(bucket, s3)).toBe(404);
    allOk(p, [["config", "set", "cloudsync:bucketEncryption", "none", "-s", stack]]);
  });

  it("`up` creates the bucket: versioning, the exact lifecycle rules, the encryption configured, the agent's target", STEP, async () => {
    const up = p.pulumi(["up", "--yes", "-s", stack, ...policy]);
    const out = expectExit(up, 0);
    console.log(`engine-cloud: up (create) ${up.seconds.toFixed(1)} s`);
    // After the failed up above, the stack and the component are already in the state.
    expect(out).toContain(encryption === "none" ? "1 created" : "3 created");
    if (encryption === "none") {
      expect(out).toContain("bucket-encryption-enabled");
      expect(out).toContain('bucket backups-bucket has encryption "none", not AES256');
    }
    expect((await s3!.send(new S3.GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe("Enabled");
    expect(await lifecycleOf(s3!, bucket)).toEqual(rules(30, 7));
    const enc = await s3!.send(new S3.GetBucketEncryptionCommand({ Bucket: bucket }));
    const algos = (enc.ServerSideEncryptionConfiguration?.Rules ?? []).map((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm);
    expect(algos).toEqual(encryption === "AES256" ? ["AES256"] : []);
    const outputs = JSON.parse(expectExit(p.pulumi(["stack", "output", "--json", "-s", stack]), 0)) as Record<string, unknown>;
    expect(outputs.agentCloudTarget).toEqual({ provider: "backblaze", bucket, prefix: "backups/", endpoint, region: process.env.S3_TEST_REGION || "us-east-1" });
    expect(outputs.destination).toBe(`s3://${bucket}/backups/`);
    await s3!.send(new S3.PutObjectCommand({ Bucket: bucket, Key: "backups/engine-test.txt", Body: "kept by retainOnDelete" }));
  });

  it("`preview` again shows no changes (--expect-no-changes exits 0)", STEP, () => {
    const out = expectExit(p.pulumi(["preview", "--expect-no-changes", "-s", stack, ...policy]), 0);
    expect(out).toContain("3 unchanged");
    expect(out).not.toMatch(/to create|to update|to replace|to delete/);
  });

  it("`refresh` finds nothing changed (--expect-no-changes exits 0)", STEP, () => {
    const out = expectExit(p.pulumi(["refresh", "--yes", "--expect-no-changes", "-s", stack]), 0);
    expect(out).toContain("3 unchanged");
  });

  it("a lifecycle rule changed behind Pulumi's back: `refresh` sees it, `up` restores it", STEP, async () => {
    const drifted = [
      { ID: "expire-current-backups", Status: "Enabled" as const, Filter: { Prefix: "backups/" }, Expiration: { Days: 9 } },
      { ID: "expire-noncurrent-versions", Status: "Enabled" as const, Filter: { Prefix: "backups/" }, NoncurrentVersionExpiration: { NoncurrentDays: 7 } },
      { ID: "abort-incomplete-multipart", Status: "Enabled" as const, Filter: { Prefix: "" }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    ];
    await s3!.send(new S3.PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: drifted } }));
    const refresh = expectExit(p.pulumi(["refresh", "--yes", "--diff", "-s", stack]), 0);
    expect(refresh).toMatch(/retentionDays\s*:\s*30\s*=>\s*9/);
    expect(refresh).toContain("1 updated");
    // The inputs did not change, only what the server has: the engine shows the update, without a property diff.
    const preview = expectExit(p.pulumi(["preview", "--expect-no-changes", "--diff", "-s", stack, ...policy]), "nonzero");
    expect(preview).toContain("~ pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket: (update)");
    expect(preview).toContain("~ 1 to update");
    expect(preview).toContain("error: no changes were expected for preview but changes were proposed");
    const up = expectExit(p.pulumi(["up", "--yes", "-s", stack, ...policy]), 0);
    expect(up).toContain("~ 1 updated");
    expect(await lifecycleOf(s3!, bucket)).toEqual(rules(30, 7));
  });

  it("`config set cloudsync:retentionDays 45` then `up`: an update in place, and the lifecycle says 45", STEP, async () => {
    allOk(p, [["config", "set", "cloudsync:retentionDays", "45", "-s", stack]]);
    const preview = expectExit(p.pulumi(["preview", "--diff", "-s", stack, ...policy]), 0);
    // The component's inputs change too, so two updates; the bucket is updated, never replaced.
    expect(preview).toMatch(/~ pulumi-nodejs:dynamic\/cloudsync-s3compat:Bucket: \(update\)[^]*~ retentionDays\s*: 30 => 45/);
    expect(preview).toContain("~ 2 to update");
    expect(preview).not.toMatch(/replace/);
    const up = expectExit(p.pulumi(["up", "--yes", "-s", stack, ...policy]), 0);
    expect(up).toContain("~ 2 updated");
    expect(up).not.toMatch(/replace/);
    expect(await lifecycleOf(s3!, bucket)).toEqual(rules(45, 7));
    expect((await s3!.send(new S3.HeadObjectCommand({ Bucket: bucket, Key: "backups/engine-test.txt" }))).ContentLength).toBe(22);
  });

  it("`destroy` refuses the protected bucket; after `state unprotect` it succeeds and the bucket and its objects stay", STEP, async () => {
    const refused = expectExit(p.pulumi(["destroy", "--yes", "-s", stack]), "nonzero");
    const urn = `urn:pulumi:${stack}::cloudsync::cloudsync:infra:BackupBucket$pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket::backups-bucket`;
    expect(refused).toContain(`error: Preview failed: resource "${urn}" cannot be deleted\n    because it is protected.`);
    expect(refused).toContain(`\`pulumi state unprotect '${urn}'\``);
    expect(await headBucketStatus(bucket, s3)).toBe(200);
    allOk(p, [["state", "unprotect", "--all", "--yes", "-s", stack]]);
    const out = expectExit(p.pulumi(["destroy", "--yes", "-s", stack]), 0);
    expect(out).toContain("3 deleted");
    const get = await s3!.send(new S3.GetObjectCommand({ Bucket: bucket, Key: "backups/engine-test.txt" }));
    expect(await get.Body?.transformToString()).toBe("kept by retainOnDelete");
    expect((await s3!.send(new S3.GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe("Enabled");
    expect(await lifecycleOf(s3!, bucket)).toEqual(rules(45, 7));
    const left = JSON.parse(expectExit(p.pulumi(["stack", "export", "-s", stack]), 0)) as { deployment: { resources?: unknown[] } };
    expect(left.deployment.resources ?? []).toEqual([]);
  });

  it("objectLockDays 1 GOVERNANCE: the bucket is created with object lock and that default retention", STEP, async () => {
    const lockStack = "cloud-lock";
    const q = project(lockStack);
    projects.push(q);
    const lockBucket = unique("lock");
    buckets.push(lockBucket);
    initStack(q, lockStack, lockBucket, [
      ["objectLockDays", "1"],
      ["objectLockMode", "GOVERNANCE"],
      ["bucketEncryption", encryption],
    ]);
    const config = path.join(p.dir, "policy-config.json");
    const out = expectExit(q.pulumi(["up", "--yes", "-s", lockStack, "--policy-pack", q.policyPack, ...(encryption === "none" ? ["--policy-pack-config", config] : [])]), 0);
    expect(out).toContain("3 created");
    const lock = await s3!.send(new S3.GetObjectLockConfigurationCommand({ Bucket: lockBucket }));
    expect(lock.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } });
    expect(expectExit(q.pulumi(["preview", "--expect-no-changes", "-s", lockStack]), 0)).toContain("3 unchanged");
  });
});
