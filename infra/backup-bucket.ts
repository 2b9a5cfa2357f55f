import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { b2EndpointSettings } from "./b2-endpoint.js";
import { lifecycleRules } from "./lifecycle.js";
import { S3CompatBucket } from "./s3-compat-bucket.js";

/** Settings shared by both providers. */
interface BackupBucketCommon {
  /** Bucket name (explicit, so policies and the runtime can name it before it exists). */
  readonly bucketName: string;
  /** Key prefix the backups live under, ending in `/`. */
  readonly prefix: string;
  /** Days before a current backup expires. ≥ 1. */
  readonly retentionDays: number;
  /** Days a noncurrent version is kept. ≥ 1. */
  readonly noncurrentDays: number;
  /** Object lock default retention in days; 0 = off. Must be decided at creation. */
  readonly objectLockDays: number;
  /** Object lock mode used when `objectLockDays` > 0. */
  readonly objectLockMode: "GOVERNANCE" | "COMPLIANCE";
}

/** `BackupBucket` on AWS S3 (`@pulumi/aws`, credentials and region from the `aws:` provider config). */
export interface AwsBackupBucketArgs extends BackupBucketCommon {
  readonly provider: "aws";
}

/** `BackupBucket` on Backblaze B2 through its S3 API (dynamic provider, see s3-compat-bucket.ts). */
export interface B2BackupBucketArgs extends BackupBucketCommon {
  readonly provider: "backblaze";
  /** `https://s3.<region>.backblazeb2.com`, or a loopback test server (see b2-endpoint.ts). */
  readonly endpoint: string;
  /** Signing region; default the B2 endpoint's own, or us-east-1 on loopback (`b2EndpointSettings`). */
  readonly region?: string;
  /** A B2 key allowed to create and configure buckets (secrets). */
  readonly adminKeyId: pulumi.Input<string>;
  readonly adminKey: pulumi.Input<string>;
  /** Default encryption; `AES256` (SSE-B2) unless the server lacks it. Default `AES256`. */
  readonly encryption?: "AES256" | "none";
  /** Path-style URLs, for S3-compatible servers other than B2. Default: true on loopback only. */
  readonly forcePathStyle?: boolean;
}

/** Arguments of `BackupBucket`. */
export type BackupBucketArgs = AwsBackupBucketArgs | B2BackupBucketArgs;

/**
 * The bucket backups go to: versioning on, the three lifecycle rules of `lifecycleRules`,
 * default server-side encryption, public access blocked, and optional object lock default
 * retention. The bucket itself is `protect`ed and `retainOnDelete`: losing it loses history.
 * On AWS each concern is its own `@pulumi/aws` v7 resource (`aws.s3.Bucket` plus
 * `BucketVersioning`, `BucketLifecycleConfiguration`, `BucketServerSideEncryptionConfiguration`,
 * `BucketPublicAccessBlock`, `BucketObjectLockConfiguration`), named `${name}-…`. On B2 one
 * dynamic resource does the same over the S3 API (B2 buckets created private have no public ACL;
 * B2 has no PublicAccessBlock API).
 */
export class BackupBucket extends pulumi.ComponentResource {
  /** Bucket name. */
  readonly bucketName: pulumi.Output<string>;
  /** ARN on AWS; empty on B2. */
  readonly bucketArn: pulumi.Output<string>;
  /** `s3://bucket/prefix` destination for the runtime. */
  readonly destination: pulumi.Output<string>;
  /** Endpoint URL on B2; empty on AWS (the SDK's default). */
  readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cloudsync:infra:BackupBucket", name, args, opts);
    const rules = lifecycleRules({ prefix: args.prefix, retentionDays: args.retentionDays, noncurrentDays: args.noncurrentDays });
    if (args.provider === "aws") {
      const bucket = new aws.s3.Bucket(
        `${name}-bucket`,
        { bucket: args.bucketName, objectLockEnabled: args.objectLockDays > 0, forceDestroy: false },
        { parent: this, protect: true, retainOnDelete: true },
      );
      const child = { parent: this, dependsOn: [bucket] };
      new aws.s3.BucketPublicAccessBlock(
        `${name}-public-access-block`,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        child,
      );
      const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, child);
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-encryption`,
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
        child,
      );
      // Lifecycle rules on noncurrent versions only make sense once versioning exists.
      new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: bucket.id, rules: rules.map((r) => ({ ...r })) }, { parent: this, dependsOn: [versioning] });
      if (args.objectLockDays > 0) {
        new aws.s3.BucketObjectLockConfiguration(
          `${name}-object-lock`,
          { bucket: bucket.id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: args.objectLockMode, days: args.objectLockDays } } },
          { parent: this, dependsOn: [versioning] },
        );
      }
      this.bucketName = bucket.bucket;
      this.bucketArn = bucket.arn;
      this.endpoint = pulumi.output("");
    } else {
      const s3 = b2EndpointSettings(args.endpoint, args.region);
      const bucket = new S3CompatBucket(
        `${name}-bucket`,
        {
          endpoint: args.endpoint,
          region: s3.region,
          bucket: args.bucketName,
          prefix: args.prefix,
          retentionDays: args.retentionDays,
          noncurrentDays: args.noncurrentDays,
          objectLockDays: args.objectLockDays,
          objectLockMode: args.objectLockMode,
          encryption: args.encryption ?? "AES256",
          forcePathStyle: args.forcePathStyle ?? s3.forcePathStyle,
          accessKeyId: pulumi.secret(args.adminKeyId),
          secretAccessKey: pulumi.secret(args.adminKey),
        },
        { parent: this, protect: true, retainOnDelete: true },
      );
      this.bucketName = bucket.bucket;
      this.bucketArn = pulumi.output("");
      this.endpoint = pulumi.output(args.endpoint);
    }
    this.destination = pulumi.interpolate`s3://${this.bucketName}/${args.prefix}`;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, destination: this.destination, endpoint: this.endpoint });
  }
}
