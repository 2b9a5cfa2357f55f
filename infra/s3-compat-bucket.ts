/**
 * A backup bucket on any S3-compatible service that `@pulumi/aws` cannot manage — Backblaze B2
 * first — as a Pulumi dynamic provider over the S3 API (`@aws-sdk/client-s3`).
 *
 * Why dynamic and not `@pulumi/aws` pointed at B2's endpoint: the AWS provider reads back every
 * bucket sub-resource it knows (ACL, CORS, website, accelerate, request payment, replication,
 * logging …) on create and refresh; B2 implements a handful of them and answers the rest with
 * errors, so plans fail or drift forever. The S3 calls B2 does implement — create bucket with
 * object lock, versioning, lifecycle (expiration, noncurrent-version expiration, abort
 * incomplete multipart), default encryption (SSE-B2), object lock default retention — are all
 * this needs, and they are exercised for real against the test suite's S3 server.
 *
 * The operations take the SDK module as a parameter and the provider loads it with a bare
 * `require()` inside each method: Pulumi serializes a dynamic provider's code; an ES-module
 * import of the AWS SDK v3 captured by it does not serialize (pulumi/pulumi#18977), and the
 * serializer deliberately leaves `require` free, so the provider host (which evaluates the code
 * as a CommonJS module) loads the SDK's CommonJS build itself.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as S3 from "@aws-sdk/client-s3";
import { fromS3ApiRules, lifecycleRules, toS3ApiRules } from "./lifecycle.js";

/** Inputs of the dynamic bucket (all plain values once resolved). */
export interface S3CompatBucketInputs {
  /** S3 endpoint URL, e.g. `https://s3.us-west-004.backblazeb2.com`. */
  endpoint: string;
  /** Signing region (B2: the region part of the endpoint). */
  region: string;
  /** Bucket name. Changing it replaces the bucket. */
  bucket: string;
  /** Key prefix of the backups, ending in `/`. */
  prefix: string;
  /** Lifecycle: days before a current backup expires. ≥ 1. */
  retentionDays: number;
  /** Lifecycle: days a noncurrent version is kept. ≥ 1. */
  noncurrentDays: number;
  /** Object lock default retention in days; 0 = no object lock. Turning it on later replaces the bucket (S3 allows lock only at creation). */
  objectLockDays: number;
  /** Object lock mode when `objectLockDays` > 0. */
  objectLockMode: "GOVERNANCE" | "COMPLIANCE";
  /** Default server-side encryption: `AES256` (SSE-B2 / SSE-S3) or `none` for servers without it. */
  encryption: "AES256" | "none";
  /** Use path-style URLs (MinIO, Ceph); B2 and AWS take virtual-host style. */
  forcePathStyle: boolean;
  /** Admin credentials allowed to create and configure buckets (secrets). */
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * What `read` observes on the server: the inputs, with `prefix`, `retentionDays`,
 * `noncurrentDays` and (when `AES256` was asked for) `encryption` as the server reports them, so
 * `pulumi refresh` sees a rule changed behind Pulumi's back and the next `up` restores it, plus
 * the fields below. Object lock settings are kept as last applied.
 */
export interface S3CompatBucketState extends S3CompatBucketInputs {
  /** `Enabled` once versioning is on. */
  versioningStatus: string;
  /** Lifecycle rule ids present, sorted (servers differ in the order they return rules). */
  lifecycleRuleIds: string[];
  /** Whether any ACL grant gives access to AllUsers or AuthenticatedUsers. */
  publicAccess: boolean;
}

type Sdk = typeof S3;

function client(sdk: Sdk, i: S3CompatBucketInputs): S3.S3Client {
  return new sdk.S3Client({
    endpoint: i.endpoint,
    region: i.region,
    forcePathStyle: i.forcePathStyle,
    credentials: { accessKeyId: i.accessKeyId, secretAccessKey: i.secretAccessKey },
    // B2 rejects the SDK's default CRC32 request checksums on bucket-configuration calls.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** The error of a failed S3 call, named `s3 <what> <bucket>: <SDK error name>: <message>`. */
function stepError(what: string, bucket: string, e: unknown): Error {
  const err = e as { name?: string; message?: string };
  return new Error(`s3 ${what} ${bucket}: ${err.name ?? "Error"}: ${err.message ?? String(e)}`, { cause: e });
}

async function step<T>(what: string, bucket: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw stepError(what, bucket, e);
  }
}

/**
 * Turns versioning on. A server that does not implement PutBucketVersioning (B2's S3 API: its
 * buckets are always versioned, and it documents only GET `?versioning`) answers NotImplemented;
 * then GetBucketVersioning must report `Enabled`, else this throws: history protection is the
 * point of the bucket.
 */
async function enableVersioning(sdk: Sdk, s3: S3.S3Client, Bucket: string): Promise<void> {
  const failed = await s3.send(new sdk.PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } })).then(
    () => undefined,
    (e: unknown) => e as { name?: string; $metadata?: { httpStatusCode?: number } },
  );
  if (failed === undefined) return;
  if (failed.name !== "NotImplemented" && failed.$metadata?.httpStatusCode !== 501) throw stepError("put-bucket-versioning", Bucket, failed);
  const v = await step("get-bucket-versioning", Bucket, () => s3.send(new sdk.GetBucketVersioningCommand({ Bucket })));
  if (v.Status !== "Enabled") {
    throw new Error(
      `s3 put-bucket-versioning ${Bucket}: the server does not implement PutBucketVersioning and reports versioning ${v.Status ?? "never enabled"}; this bucket would keep no history, so use a service whose buckets are versioned`,
    );
  }
}

/** Applies versioning, lifecycle, encryption and object lock retention to an existing bucket. Idempotent. */
export async function configureBucket(sdk: Sdk, i: S3CompatBucketInputs): Promise<void> {
  const s3 = client(sdk, i);
  try {
    const Bucket = i.bucket;
    await enableVersioning(sdk, s3, Bucket);
    const Rules = toS3ApiRules(lifecycleRules({ prefix: i.prefix, retentionDays: i.retentionDays, noncurrentDays: i.noncurrentDays }));
    await step("put-bucket-lifecycle", Bucket, () => s3.send(new sdk.PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } })));
    if (i.encryption === "AES256") {
      await step("put-bucket-encryption", Bucket, () =>
        s3.send(new sdk.PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] } })),
      );
    }
    if (i.objectLockDays > 0) {
      await step("put-object-lock", Bucket, () =>
        s3.send(
          new sdk.PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: i.objectLockMode, Days: i.objectLockDays } } } }),
        ),
      );
    }
  } finally {
    s3.destroy();
  }
}

/**
 * Creates the bucket (private, object lock enabled when requested) and configures it. Fails if it
 * already exists — even when owned by the same account, which S3 (us-east-1) and RGW answer with
 * success: silently adopting a bucket full of history into a resource Pulumi may later replace
 * is not something to do by accident. All or nothing: when configuring fails (a server without
 * default encryption, say), the bucket just created, still empty, is deleted again before the
 * error is rethrown, since Pulumi records nothing for a failed create and the next `up` would
 * otherwise stop at "already exists".
 */
export async function createBucket(sdk: Sdk, i: S3CompatBucketInputs): Promise<void> {
  const s3 = client(sdk, i);
  try {
    const exists = await s3.send(new sdk.HeadBucketCommand({ Bucket: i.bucket })).then(
      () => true,
      () => false,
    );
    if (exists) throw new Error(`s3 create-bucket ${i.bucket}: the bucket already exists; choose another cloudsync:bucketName, or adopt it with \`pulumi import\``);
    await step("create-bucket", i.bucket, () => s3.send(new sdk.CreateBucketCommand({ Bucket: i.bucket, ACL: "private", ObjectLockEnabledForBucket: i.objectLockDays > 0 })));
    try {
      await configureBucket(sdk, i);
    } catch (e) {
      const undo = await s3.send(new sdk.DeleteBucketCommand({ Bucket: i.bucket })).then(
        () => "the new bucket was deleted again",
        (d: unknown) => `the new bucket could not be deleted again (${(d as Error).message}); delete it before the next \`pulumi up\``,
      );
      throw new Error(`${(e as Error).message} (${undo})`, { cause: e });
    }
  } finally {
    s3.destroy();
  }
}

/** The bucket's default encryption as this provider writes it: `AES256`, or `none` when the server has none (or no such API). */
async function readEncryption(sdk: Sdk, s3: S3.S3Client, Bucket: string): Promise<"AES256" | "none"> {
  try {
    const enc = await s3.send(new sdk.GetBucketEncryptionCommand({ Bucket }));
    return (enc.ServerSideEncryptionConfiguration?.Rules ?? []).some((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm === "AES256") ? "AES256" : "none";
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (err.name === "ServerSideEncryptionConfigurationNotFoundError" || err.name === "NotImplemented" || err.$metadata?.httpStatusCode === 501) return "none";
    throw stepError("get-bucket-encryption", Bucket, e);
  }
}

/** Reads what the server has; `undefined` when the bucket is gone (so Pulumi plans a re-create). */
export async function readBucket(sdk: Sdk, i: S3CompatBucketInputs): Promise<S3CompatBucketState | undefined> {
  const s3 = client(sdk, i);
  try {
    const Bucket = i.bucket;
    try {
      await s3.send(new sdk.HeadBucketCommand({ Bucket }));
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return undefined;
      throw new Error(`s3 head-bucket ${Bucket}: ${(e as Error).message}`, { cause: e });
    }
    const v = await step("get-bucket-versioning", Bucket, () => s3.send(new sdk.GetBucketVersioningCommand({ Bucket })));
    let rules: S3.LifecycleRule[] = [];
    try {
      rules = (await s3.send(new sdk.GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? [];
    } catch (e) {
      if ((e as { name?: string }).name !== "NoSuchLifecycleConfiguration") throw new Error(`s3 get-bucket-lifecycle ${Bucket}: ${(e as Error).message}`, { cause: e });
    }
    // With `none` this provider manages no encryption (and never deletes one: RGW 16 takes DELETE
    // /<bucket>?encryption for DeleteBucket), so whatever the server does by default is left alone.
    const encryption = i.encryption === "AES256" ? await readEncryption(sdk, s3, Bucket) : "none";
    const acl = await step("get-bucket-acl", Bucket, () => s3.send(new sdk.GetBucketAclCommand({ Bucket })));
    const publicAccess = (acl.Grants ?? []).some((g) => /AllUsers|AuthenticatedUsers/.test(g.Grantee?.URI ?? ""));
    const lifecycleRuleIds = rules.map((r) => r.ID ?? "").sort();
    return { ...i, ...fromS3ApiRules(rules), encryption, versioningStatus: v.Status ?? "Disabled", lifecycleRuleIds, publicAccess };
  } finally {
    s3.destroy();
  }
}

/** Deletes the bucket; the server refuses while it holds objects or versions (nothing is emptied here). */
export async function deleteBucket(sdk: Sdk, i: S3CompatBucketInputs): Promise<void> {
  const s3 = client(sdk, i);
  try {
    await step("delete-bucket", i.bucket, () => s3.send(new sdk.DeleteBucketCommand({ Bucket: i.bucket })));
  } finally {
    s3.destroy();
  }
}

/** Properties whose change needs a new bucket. */
export function replaceKeys(olds: S3CompatBucketInputs, news: S3CompatBucketInputs): string[] {
  const keys: string[] = [];
  if (olds.bucket !== news.bucket) keys.push("bucket");
  if (olds.endpoint !== news.endpoint) keys.push("endpoint");
  if (olds.region !== news.region) keys.push("region");
  // Object lock can only be switched on when a bucket is created.
  if ((olds.objectLockDays > 0) !== (news.objectLockDays > 0)) keys.push("objectLockDays");
  return keys;
}

const COMPARED: (keyof S3CompatBucketInputs)[] = ["bucket", "endpoint", "region", "prefix", "retentionDays", "noncurrentDays", "objectLockDays", "objectLockMode", "encryption", "forcePathStyle", "accessKeyId", "secretAccessKey"];

/**
 * Loads the SDK where the serialized provider runs. Only ever called inside the provider host,
 * where `require` is the CommonJS module's own (see the module comment).
 */
function loadSdk(): Sdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: must stay a free `require` for Pulumi's serializer
  return require("@aws-sdk/client-s3") as Sdk;
}

/** `readBucket` of a bucket just created or configured; its absence is an error. */
async function readBack(sdk: Sdk, i: S3CompatBucketInputs): Promise<S3CompatBucketState> {
  const state = await readBucket(sdk, i);
  if (!state) throw new Error(`s3 head-bucket ${i.bucket}: the bucket is gone right after it was configured`);
  return state;
}

/** The dynamic provider. Each method loads the SDK itself (see the module comment). */
export const s3CompatBucketProvider: pulumi.dynamic.ResourceProvider = {
  // create and update return what read then sees, so a refresh right after them changes nothing.
  async create(inputs: S3CompatBucketInputs) {
    const sdk = loadSdk();
    await createBucket(sdk, inputs);
    return { id: inputs.bucket, outs: await readBack(sdk, inputs) };
  },
  async read(id: string, props: S3CompatBucketInputs) {
    const sdk = loadSdk();
    const state = await readBucket(sdk, props);
    return state ? { id, props: state } : { id: "" };
  },
  async diff(_id: string, olds: S3CompatBucketInputs, news: S3CompatBucketInputs) {
    const replaces = replaceKeys(olds, news);
    const changes = COMPARED.some((k) => olds[k] !== news[k]);
    return { changes, replaces, deleteBeforeReplace: replaces.includes("bucket") ? false : true };
  },
  async update(_id: string, _olds: S3CompatBucketInputs, news: S3CompatBucketInputs) {
    const sdk = loadSdk();
    await configureBucket(sdk, news);
    return { outs: await readBack(sdk, news) };
  },
  async delete(_id: string, props: S3CompatBucketInputs) {
    const sdk = loadSdk();
    await deleteBucket(sdk, props);
  },
};

/** Pulumi-input form of `S3CompatBucketInputs`: the arguments of `S3CompatBucket`. */
export type S3CompatBucketArgs = { [K in keyof S3CompatBucketInputs]: pulumi.Input<S3CompatBucketInputs[K]> };

/**
 * The dynamic resource (type `pulumi-nodejs:dynamic:Resource`, `cloudsync:s3compat` module name
 * in its URN). Credentials are inputs, so they are marked secret outputs: state keeps them
 * encrypted.
 */
export class S3CompatBucket extends pulumi.dynamic.Resource {
  declare readonly bucket: pulumi.Output<string>;
  declare readonly versioningStatus: pulumi.Output<string>;
  constructor(name: string, args: S3CompatBucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      s3CompatBucketProvider,
      name,
      { ...args, versioningStatus: undefined, lifecycleRuleIds: undefined, publicAccess: undefined },
      { ...opts, additionalSecretOutputs: ["accessKeyId", "secretAccessKey"] },
      "cloudsync-s3compat",
      "Bucket",
    );
  }
}
