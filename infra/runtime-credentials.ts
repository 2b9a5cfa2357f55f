import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { runtimePolicyDocument } from "./iam-policy.js";

/** Arguments of `RuntimeCredentials`. */
export interface RuntimeCredentialsArgs {
  /** IAM user name. */
  readonly userName: string;
  /** Bucket name the user may write backups to. */
  readonly bucketName: pulumi.Input<string>;
  /** Key prefix, ending in `/`. */
  readonly prefix: string;
}

/**
 * The backup host's AWS identity: an IAM user, an inline policy from `runtimePolicyDocument`
 * (put/get/list under the prefix; explicit Deny of version deletion, lifecycle and versioning
 * changes, governance bypass, …) and one access key. The key's secret is a Pulumi secret output.
 * Rotate by renaming the component's key (`pulumi up` creates the new key before deleting the old).
 */
export class RuntimeCredentials extends pulumi.ComponentResource {
  /** The user's name. */
  readonly userName: pulumi.Output<string>;
  /** Access key id (not secret by itself, but kept secret to keep the pair together). */
  readonly accessKeyId: pulumi.Output<string>;
  /** Secret access key (Pulumi secret). */
  readonly secretAccessKey: pulumi.Output<string>;
  /** The policy document as JSON, as attached. */
  readonly policyJson: pulumi.Output<string>;

  constructor(name: string, args: RuntimeCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cloudsync:infra:RuntimeCredentials", name, args, opts);
    const user = new aws.iam.User(`${name}-user`, { name: args.userName, path: "/cloudsync/", forceDestroy: true }, { parent: this });
    this.policyJson = pulumi.output(args.bucketName).apply((bucket) => JSON.stringify(runtimePolicyDocument({ bucket, prefix: args.prefix })));
    new aws.iam.UserPolicy(`${name}-policy`, { user: user.name, name: "cloudsync-backup-writer", policy: this.policyJson }, { parent: this });
    const key = new aws.iam.AccessKey(`${name}-key`, { user: user.name }, { parent: this, additionalSecretOutputs: ["secret"] });
    this.userName = user.name;
    this.accessKeyId = pulumi.secret(key.id);
    this.secretAccessKey = pulumi.secret(key.secret);
    this.registerOutputs({ userName: this.userName, accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey, policyJson: this.policyJson });
  }
}
