/**
 * The runtime credentials' IAM policy, as a pure builder: the backup host can add and read
 * backups, and cannot destroy history even if its key leaks.
 */

/** Inputs of `runtimePolicyDocument`. */
export interface RuntimePolicyOptions {
  /** Bucket name (not ARN). */
  readonly bucket: string;
  /** Key prefix the backups live under, ending in `/`. */
  readonly prefix: string;
  /** ARN partition. Default `aws`. */
  readonly partition?: string;
}

/** An IAM policy document (the subset this project writes). */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  }[];
}

/**
 * Actions the runtime key must never have. An explicit Deny wins over any Allow attached later
 * (by mistake or by a broader group policy), so these hold even if someone widens the grant.
 */
export const DENIED_ACTIONS = [
  "s3:DeleteObjectVersion",
  "s3:DeleteBucket",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketVersioning",
  "s3:BypassGovernanceRetention",
  "s3:PutBucketObjectLockConfiguration",
  "s3:PutObjectRetention",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
] as const;

/**
 * The policy document for the runtime user: list the bucket only under `prefix`; put (including
 * multipart) and get objects only under `prefix`; explicitly deny every action in
 * `DENIED_ACTIONS` on the bucket and all its objects. No `s3:DeleteObject` either: cloud
 * retention is the bucket's lifecycle, so the runtime never needs to delete. Throws `Error` when
 * the prefix does not end in `/` (a prefix `backups` would also grant `backups-old/`).
 */
export function runtimePolicyDocument(o: RuntimePolicyOptions): PolicyDocument {
  if (!o.prefix.endsWith("/")) throw new Error(`runtime policy prefix: must end in "/", got ${JSON.stringify(o.prefix)}`);
  const bucketArn = `arn:${o.partition ?? "aws"}:s3:::${o.bucket}`;
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListBackupPrefix", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn], Condition: { StringLike: { "s3:prefix": [o.prefix, `${o.prefix}*`] } } },
      { Sid: "LocateBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [bucketArn] },
      {
        Sid: "ReadWriteBackups",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: [`${bucketArn}/${o.prefix}*`],
      },
      { Sid: "NeverDestroyHistory", Effect: "Deny", Action: [...DENIED_ACTIONS], Resource: [bucketArn, `${bucketArn}/*`] },
    ],
  };
}
