import { describe, expect, it } from "vitest";
import { cloud } from "../../stacks/cloud.js";
import { one, runMocked, stackYaml, type MockedRun } from "./harness.js";

const SECRETS = {
  "cloudsync:b2AdminKeyId": "0041234567890ab0000000001",
  "cloudsync:b2AdminKey": "K004adminadminadminadminadminadm",
  "cloudsync:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n-----END OPENSSH PRIVATE KEY-----\n",
  "cloudsync:metadataApiKey": "0123456789abcdef0123456789abcdef",
};
const bundle = { buildBundle: async (dir: string) => ({ dir, releaseId: "0123456789abcdef" }) };
const EXPECTED_RULES = [
  { id: "expire-current-backups", status: "Enabled", filter: { prefix: "backups/" }, expiration: { days: 30 } },
  { id: "expire-noncurrent-versions", status: "Enabled", filter: { prefix: "backups/" }, noncurrentVersionExpiration: { noncurrentDays: 30 } },
  { id: "abort-incomplete-multipart", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
];

function metadataChecks(run: MockedRun): void {
  it("deploys the metadata server over SSH with the secret only on stdin, restarting on content change", () => {
    const deploy = one(run, "command:remote:Command", "metadata-deploy");
    expect(deploy.inputs.connection).toEqual({ host: "jeffreysanford.us", port: 22, user: "deploy", privateKey: SECRETS["cloudsync:sshPrivateKey"], dialErrorLimit: 10, perDialTimeout: 15 });
    expect(deploy.secretInputs).toEqual(expect.arrayContaining(["connection", "triggers"]));
    const script = deploy.inputs.create as string;
    expect(script.split("\n")[0]).toBe("set -e");
    expect(script).toContain("sudo sh -c 'install -m 0644 /var/lib/cloudsync-deploy/0123456789abcdef/cloudsync-metadata.service /etc/systemd/system/cloudsync-metadata.service'");
    expect(script.split("\n").at(-1)).toBe("cd /var/lib/cloudsync-deploy && ls -1 | grep -v -x -e 0123456789abcdef | xargs -r rm -rf --");
    expect(script).not.toContain("/tmp/");
    expect(script).not.toContain(SECRETS["cloudsync:metadataApiKey"]);
    expect((deploy.inputs.triggers as unknown[])[0]).toBe("0123456789abcdef");
    const env = one(run, "command:remote:Command", "metadata-env");
    expect(env.inputs.create).toBe("umask 077 && cat > /var/lib/cloudsync-deploy/0123456789abcdef/env");
    expect(one(run, "command:remote:Command", "metadata-staging").inputs.create).toBe('sudo install -d -m 0700 -o "$(id -un)" -g "$(id -gn)" /var/lib/cloudsync-deploy /var/lib/cloudsync-deploy/0123456789abcdef');
    expect(env.secretInputs).toContain("stdin");
    expect(env.inputs.stdin).toContain(`CLOUD_SYNC_API_KEY=${SECRETS["cloudsync:metadataApiKey"]}`);
    const unit = one(run, "command:remote:Command", "metadata-unit").inputs.stdin as string;
    expect(unit).toMatch(/^MemoryMax=192M$/m);
    expect(unit).toMatch(/^MemoryHigh=144M$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^User=cloudsync-metadata$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/cloudsync-metadata\/env$/m);
    expect(unit).toMatch(/^Environment=MALLOC_MMAP_THRESHOLD_=8192$/m);
    const copy = one(run, "command:remote:CopyToRemote", "metadata-bundle").inputs;
    expect([copy.remotePath, copy.triggers]).toEqual(["/var/lib/cloudsync-deploy/0123456789abcdef", ["0123456789abcdef"]]);
    expect(run.outputs.metadataUrl).toBe("https://jeffreysanford.us/");
  });

  it("never disables the service on a redeploy: the deploy step has no delete and is replaced delete-before-replace; only the untriggered service command stops it", () => {
    const deploy = one(run, "command:remote:Command", "metadata-deploy");
    expect(deploy.inputs).not.toHaveProperty("delete");
    expect(deploy.deleteBeforeReplace).toBe(true);
    const service = one(run, "command:remote:Command", "metadata-service");
    expect(service.inputs.create).toBe("true");
    expect(service.inputs.delete).toBe("sudo systemctl disable --now cloudsync-metadata || true");
    expect(service.inputs).not.toHaveProperty("triggers");
    expect(deploy.dependsOn).toContain(service.urn);
    expect(run.resources.filter((r) => r.type === "command:remote:Command" && r.inputs.delete !== undefined).map((r) => r.name)).toEqual(["metadata-service"]);
  });
}

describe("stack cloud, provider aws (mocked)", async () => {
  const config = { ...stackYaml("cloud"), "cloudsync:provider": "aws", ...SECRETS };
  const run = await runMocked("cloud", config, Object.keys(SECRETS), () => cloud(bundle));

  it("registers exactly the expected resources", () => {
    expect(run.resources.filter((r) => !r.type.startsWith("command:")).map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "aws:iam/accessKey:AccessKey runtime-key",
        "aws:iam/user:User runtime-user",
        "aws:iam/userPolicy:UserPolicy runtime-policy",
        "aws:s3/bucket:Bucket backups-bucket",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration backups-lifecycle",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock backups-public-access-block",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration backups-encryption",
        "aws:s3/bucketVersioning:BucketVersioning backups-versioning",
        "cloudsync:infra:BackupBucket backups",
        "cloudsync:infra:MetadataServer metadata",
        "cloudsync:infra:RuntimeCredentials runtime",
      ].sort(),
    );
  });

  it("creates a protected, retained bucket with versioning, exact lifecycle, SSE and a full public access block", () => {
    const b = one(run, "aws:s3/bucket:Bucket", "backups-bucket");
    expect([b.protect, b.retainOnDelete, b.inputs.bucket, b.inputs.objectLockEnabled, b.inputs.forceDestroy]).toEqual([true, true, "cloudsync-backups-example", false, false]);
    expect(b.inputs).not.toHaveProperty("acl");
    expect(b.inputs).not.toHaveProperty("policy");
    expect(b.inputs).not.toHaveProperty("lifecycleRules");
    expect(one(run, "aws:s3/bucketVersioning:BucketVersioning", "backups-versioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle").inputs.rules).toEqual(EXPECTED_RULES);
    expect(one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-encryption").inputs.rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true },
    ]);
    const pab = one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access-block").inputs;
    expect([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets]).toEqual([true, true, true, true]);
    expect(run.resources.some((r) => r.type === "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")).toBe(false);
  });

  it("attaches the exact runtime policy: put/get/list under the prefix, explicit Deny of history-destroying actions", () => {
    const policy = JSON.parse(one(run, "aws:iam/userPolicy:UserPolicy", "runtime-policy").inputs.policy as string);
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ListBackupPrefix", Effect: "Allow", Action: ["s3:ListBucket"], Resource: ["arn:aws:s3:::cloudsync-backups-example"], Condition: { StringLike: { "s3:prefix": ["backups/", "backups/*"] } } },
        { Sid: "LocateBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: ["arn:aws:s3:::cloudsync-backups-example"] },
        {
          Sid: "ReadWriteBackups",
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
          Resource: ["arn:aws:s3:::cloudsync-backups-example/backups/*"],
        },
        {
          Sid: "NeverDestroyHistory",
          Effect: "Deny",
          Action: [
            "s3:DeleteObjectVersion",
            "s3:DeleteBucket",
            "s3:PutLifecycleConfiguration",
            "s3:PutBucketVersioning",
            "s3:BypassGovernanceRetention",
            "s3:PutBucketObjectLockConfiguration",
            "s3:PutObjectRetention",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
          ],
          Resource: ["arn:aws:s3:::cloudsync-backups-example", "arn:aws:s3:::cloudsync-backups-example/*"],
        },
      ],
    });
    expect(one(run, "aws:iam/accessKey:AccessKey", "runtime-key").additionalSecretOutputs).toContain("secret");
  });

  it("exports the agent target and the credentials as secrets", () => {
    expect(run.outputs.agentCloudTarget).toEqual({ provider: "s3", bucket: "cloudsync-backups-example", prefix: "backups/", region: "us-east-1" });
    expect(run.outputs.destination).toBe("s3://cloudsync-backups-example/backups/");
    expect(run.outputs.runtimeSecretAccessKey).toBe("mock-secret-access-key");
    expect(run.secretOutputs).toEqual(expect.arrayContaining(["runtimeAccessKeyId", "runtimeSecretAccessKey"]));
    expect(run.secretOutputs).not.toContain("destination");
  });

  metadataChecks(run);
});

describe("stack cloud, provider aws with object lock (mocked)", async () => {
  const config = { ...stackYaml("cloud"), "cloudsync:provider": "aws", "cloudsync:objectLockDays": "14", "cloudsync:metadataEnabled": "false", ...SECRETS };
  const run = await runMocked("cloud", config, Object.keys(SECRETS), () => cloud(bundle));
  it("enables object lock at creation with the default retention", () => {
    expect(one(run, "aws:s3/bucket:Bucket", "backups-bucket").inputs.objectLockEnabled).toBe(true);
    const lock = one(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "backups-object-lock").inputs;
    expect([lock.objectLockEnabled, lock.rule]).toEqual(["Enabled", { defaultRetention: { mode: "GOVERNANCE", days: 14 } }]);
    expect(run.resources.some((r) => r.type.startsWith("command:"))).toBe(false);
  });
});

describe("stack cloud, provider backblaze from Pulumi.cloud.yaml (mocked)", async () => {
  const run = await runMocked("cloud", { ...stackYaml("cloud"), ...SECRETS }, Object.keys(SECRETS), () => cloud(bundle));

  it("uses one dynamic S3-API bucket, protected and retained, with secret admin credentials", () => {
    const b = one(run, "pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket", "backups-bucket");
    expect([b.protect, b.retainOnDelete]).toEqual([true, true]);
    const { __provider, ...inputs } = b.inputs;
    expect(typeof __provider).toBe("string");
    expect(inputs).toEqual({
      endpoint: "https://s3.us-west-004.backblazeb2.com",
      region: "us-west-004",
      bucket: "cloudsync-backups-example",
      prefix: "backups/",
      retentionDays: 30,
      noncurrentDays: 30,
      objectLockDays: 0,
      objectLockMode: "GOVERNANCE",
      encryption: "AES256",
      forcePathStyle: false,
      accessKeyId: SECRETS["cloudsync:b2AdminKeyId"],
      secretAccessKey: SECRETS["cloudsync:b2AdminKey"],
    });
    expect(b.secretInputs).toEqual(expect.arrayContaining(["accessKeyId", "secretAccessKey"]));
    expect(b.additionalSecretOutputs).toEqual(["accessKeyId", "secretAccessKey"]);
    expect(run.resources.some((r) => r.type.startsWith("aws:"))).toBe(false);
  });

  it("exports the one manual B2 key step, restricted to bucket and prefix", () => {
    expect(run.outputs.b2RuntimeKeyCommand).toBe("b2 key create --bucket cloudsync-backups-example --name-prefix backups/ cloudsync-backups-example-runtime listAllBucketNames,listFiles,readFiles,writeFiles");
    expect(run.outputs.b2RuntimeKeyCapabilities).toEqual(["listAllBucketNames", "listFiles", "readFiles", "writeFiles"]);
    expect(run.outputs.agentCloudTarget).toEqual({ provider: "backblaze", bucket: "cloudsync-backups-example", prefix: "backups/", endpoint: "https://s3.us-west-004.backblazeb2.com", region: "us-west-004" });
    expect(run.outputs).not.toHaveProperty("runtimeSecretAccessKey");
  });

  metadataChecks(run);
});

describe("stack cloud-staging: a second cloud environment of the same program (mocked)", async () => {
  const run = await runMocked("cloud-staging", { ...stackYaml("cloud"), "cloudsync:bucketName": "cloudsync-backups-staging", ...SECRETS }, Object.keys(SECRETS), () => cloud(bundle));

  it("runs the cloud program with its own config, and names itself in the commands it prints", () => {
    expect(one(run, "pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket", "backups-bucket").inputs.bucket).toBe("cloudsync-backups-staging");
    expect(run.outputs.b2RuntimeKeyStoreCommands).toEqual([
      "pulumi config set --secret -s cloud-staging cloudsync:b2RuntimeKeyId <applicationKeyId>",
      "pulumi config set --secret -s cloud-staging cloudsync:b2RuntimeKey <applicationKey>",
    ]);
  });
});

describe("stack cloud, provider backblaze at a loopback test server (mocked)", () => {
  const at = (over: Record<string, string>) =>
    runMocked("cloud", { ...stackYaml("cloud"), "cloudsync:metadataEnabled": "false", "cloudsync:b2Endpoint": "http://127.0.0.1:7480", ...over, ...SECRETS }, Object.keys(SECRETS), () => cloud(bundle));

  it("signs for us-east-1 by default, path style, and gives the agent the same endpoint and region", async () => {
    const run = await at({});
    const b = one(run, "pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket", "backups-bucket");
    expect([b.inputs.endpoint, b.inputs.region, b.inputs.forcePathStyle]).toEqual(["http://127.0.0.1:7480", "us-east-1", true]);
    expect(run.outputs.agentCloudTarget).toEqual({ provider: "backblaze", bucket: "cloudsync-backups-example", prefix: "backups/", endpoint: "http://127.0.0.1:7480", region: "us-east-1" });
  });

  it("signs for cloudsync:b2Region when given", async () => {
    const run = await at({ "cloudsync:b2Region": "eu-west-2" });
    expect(one(run, "pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket", "backups-bucket").inputs.region).toBe("eu-west-2");
    expect((run.outputs.agentCloudTarget as { region: string }).region).toBe("eu-west-2");
  });
});

describe("stack cloud: bucket encryption setting (mocked)", () => {
  it("passes bucketEncryption none to the backblaze bucket, where the policy pack then objects", async () => {
    const run = await runMocked("cloud", { ...stackYaml("cloud"), "cloudsync:bucketEncryption": "none", "cloudsync:metadataEnabled": "false", ...SECRETS }, Object.keys(SECRETS), () => cloud(bundle));
    expect(one(run, "pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket", "backups-bucket").inputs.encryption).toBe("none");
  });

  it("refuses bucketEncryption none with provider aws, naming the key", async () => {
    await expect(runMocked("cloud", { ...stackYaml("cloud"), "cloudsync:provider": "aws", "cloudsync:bucketEncryption": "none", ...SECRETS }, Object.keys(SECRETS), () => cloud(bundle))).rejects.toThrow(
      "cloudsync:bucketEncryption: only AES256 with provider aws (S3 always has it); none is for S3-compatible servers without server-side encryption",
    );
  });
});
