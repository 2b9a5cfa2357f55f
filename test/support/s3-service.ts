// The S3 server for the test suite: a user's own endpoint when S3_TEST_ENDPOINT is set, otherwise
// a throw-away single-node Ceph RADOS Gateway started by scripts/s3-server.sh, otherwise a skip
// reason that every S3 test prints.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  AbortMultipartUploadCommand,
  PutBucketVersioningCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { S3DestinationOptions } from "../../runtime/src/destinations/s3.js";
import { Secret } from "../../runtime/src/secret.js";
import { onPath, superviseScript, type StartedService } from "./service.js";

const run = promisify(execFile);
const ENV_KEYS = ["S3_TEST_ENDPOINT", "S3_TEST_ACCESS_KEY", "S3_TEST_SECRET_KEY", "S3_TEST_REGION"] as const;

/** The repository root, found from this file whether it runs from test/support or dist/test/support. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "scripts", "s3-server.sh"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("scripts/s3-server.sh not found above " + path.dirname(fileURLToPath(import.meta.url)));
    dir = up;
  }
  return dir;
}

/**
 * Decides which S3 server the run uses. S3_TEST_ENDPOINT set (with S3_TEST_ACCESS_KEY,
 * S3_TEST_SECRET_KEY, optional S3_TEST_REGION) → that server, untouched. Else, radosgw on PATH →
 * `scripts/s3-server.sh start` in a fresh temporary directory on a free port, stopped (by PID)
 * and removed by `stop`. Else, or when the start fails, env S3_TEST_SKIP carries the reason.
 * CLOUDSYNC_TEST_S3=off skips the server on purpose (for runs that need no S3).
 */
export async function startS3ForTests(): Promise<StartedService> {
  if (process.env.S3_TEST_ENDPOINT) {
    const env: Record<string, string> = {};
    for (const k of ENV_KEYS) if (process.env[k]) env[k] = process.env[k] as string;
    if (!env.S3_TEST_ACCESS_KEY || !env.S3_TEST_SECRET_KEY) {
      return { env: { S3_TEST_SKIP: "S3_TEST_ENDPOINT is set but S3_TEST_ACCESS_KEY or S3_TEST_SECRET_KEY is not" }, note: "s3: S3_TEST_ENDPOINT set without keys; S3 tests skip" };
    }
    return { env, note: `s3: using S3_TEST_ENDPOINT ${env.S3_TEST_ENDPOINT}` };
  }
  if (process.env.CLOUDSYNC_TEST_S3 === "off") {
    return { env: { S3_TEST_SKIP: "CLOUDSYNC_TEST_S3=off" }, note: "s3: CLOUDSYNC_TEST_S3=off; S3 tests skip" };
  }
  if (!(await onPath("radosgw"))) {
    const reason = "no S3 server: radosgw is not installed (apt-get install ceph-mon ceph-osd radosgw ceph-common) and S3_TEST_ENDPOINT is not set";
    return { env: { S3_TEST_SKIP: reason }, note: `s3: ${reason}; S3 tests skip` };
  }
  const script = path.join(repoRoot(), "scripts", "s3-server.sh");
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-s3-"));
  const scriptEnv = { ...process.env, CLOUDSYNC_S3_DIR: dir, CLOUDSYNC_S3_PORT: "0" };
  // If this process dies without running the teardown (a killed run), the watchdog stops the
  // cluster by PID so no daemons are left behind; the normal stop ends the watchdog first.
  const stop = superviseScript(script, scriptEnv, dir, "s3");
  const started = Date.now();
  try {
    const { stdout } = await run(script, ["start"], { env: scriptEnv, timeout: 180_000 });
    const env = parseExports(stdout);
    return { env, stop, note: `s3: Ceph RGW at ${env.S3_TEST_ENDPOINT} (state in ${dir}, started in ${((Date.now() - started) / 1000).toFixed(1)} s)` };
  } catch (err) {
    const reason = `the Ceph RGW did not start: ${String((err as { stderr?: string }).stderr || err).trim().split("\n").slice(-3).join(" | ")}`;
    await stop();
    return { env: { S3_TEST_SKIP: reason }, note: `s3: ${reason}; S3 tests skip` };
  }
}

function parseExports(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1] as string] = m[2] as string;
  for (const k of ENV_KEYS) if (!env[k]) throw new Error(`s3-server.sh printed no ${k}`);
  return env;
}

/** Why S3 tests must skip in this run, or undefined when a server is available. */
export function s3SkipReason(): string | undefined {
  if (process.env.S3_TEST_SKIP) return process.env.S3_TEST_SKIP;
  if (!process.env.S3_TEST_ENDPOINT) return "S3_TEST_ENDPOINT is not set (the global setup did not start a server)";
  return undefined;
}

/** Destination options for the test server and `bucket`, or undefined when S3 tests skip. Retries back off quickly. */
export function s3TestOptions(bucket = ""): S3DestinationOptions | undefined {
  if (s3SkipReason()) return undefined;
  return {
    bucket,
    endpoint: process.env.S3_TEST_ENDPOINT,
    region: process.env.S3_TEST_REGION || "us-east-1",
    accessKeyId: process.env.S3_TEST_ACCESS_KEY,
    secretAccessKey: new Secret(process.env.S3_TEST_SECRET_KEY ?? ""),
    forcePathStyle: true,
    retryBaseDelayMs: 20,
  };
}

/** A raw SDK client for the test server, for checks the Destination interface does not offer. */
export function s3TestClient(endpoint = process.env.S3_TEST_ENDPOINT): S3Client {
  return new S3Client({
    endpoint,
    region: process.env.S3_TEST_REGION || "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_TEST_ACCESS_KEY ?? "", secretAccessKey: process.env.S3_TEST_SECRET_KEY ?? "" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/**
 * Creates a fresh bucket named `cs-<label>-<random>` (label lower-cased, cut to fit), with
 * versioning enabled when asked. Pair with `deleteTestBucket` in afterAll.
 */
export async function createTestBucket(label: string, options: { versioning?: boolean } = {}): Promise<string> {
  const slug = label.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 40).replace(/-+$/, "");
  const bucket = `cs-${slug}-${Math.random().toString(36).slice(2, 10)}`;
  const client = s3TestClient();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  if (options.versioning) await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
  return bucket;
}

/** Removes every version, delete marker and unfinished upload of `bucket`, then the bucket. */
export async function deleteTestBucket(bucket: string): Promise<void> {
  const client = s3TestClient();
  for (;;) {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const ids = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key, VersionId: v.VersionId }));
    if (ids.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: ids } }));
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const u of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** The HTTP status HeadBucket answers for `bucket` (200 when it exists, 404 when it does not). */
export async function headBucketStatus(bucket: string, client: S3Client = s3TestClient()): Promise<number | undefined> {
  return client.send(new HeadBucketCommand({ Bucket: bucket })).then(
    (r) => r.$metadata.httpStatusCode,
    (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
  );
}
