import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { RULES, toPolicies, viewOf } from "../../policy/pack.js";
import type { ResourceView, Rule } from "../../policy/rule.js";
import { bucketEncryption } from "../../policy/rules/bucket-encryption.js";
import { bucketLifecycle } from "../../policy/rules/bucket-lifecycle.js";
import { bucketPublicAccess } from "../../policy/rules/bucket-public-access.js";
import { bucketVersioning } from "../../policy/rules/bucket-versioning.js";
import { dataProtected } from "../../policy/rules/data-protected.js";
import { mongoNotPublic } from "../../policy/rules/mongo-not-public.js";
import { noPlaintextSecrets } from "../../policy/rules/no-plaintext-secrets.js";
import { runtimeCredentials } from "../../policy/rules/runtime-credentials.js";
import { runtimePolicyDocument } from "../../infra/iam-policy.js";
import { atlas } from "../../stacks/atlas.js";
import { cloud } from "../../stacks/cloud.js";
import { local } from "../../stacks/local.js";
import { runMocked, stackYaml, type MockedRun } from "./harness.js";

let n = 0;
const res = (type: string, props: Record<string, unknown>, extra: Partial<ResourceView> = {}): ResourceView => ({ type, name: `r${++n}`, urn: `urn:r${n}`, props, protect: false, ...extra });
const bucket = (extra: Partial<ResourceView> = {}) => res("aws:s3/bucket:Bucket", { bucket: "b" }, { protect: true, parent: "urn:comp", ...extra });
const sib = (type: string, props: Record<string, unknown>) => res(`aws:s3/${type}`, { bucket: "b", ...props }, { parent: "urn:comp" });
const verdict = (rule: Rule, r: ResourceView, stack: ResourceView[] = [r]) => rule.check(r, stack);
const C = { status: "compliant" };
const NA = { status: "not-applicable" };

describe("policy rules: one compliant and one non-compliant case each", () => {
  it("bucket-versioning-enabled", () => {
    const b = bucket();
    expect(verdict(bucketVersioning, b, [b, sib("bucketVersioning:BucketVersioning", { versioningConfiguration: { status: "Enabled" } })])).toEqual(C);
    expect(verdict(bucketVersioning, b, [b, sib("bucketVersioning:BucketVersioning", { versioningConfiguration: { status: "Suspended" } })])).toEqual({
      status: "non-compliant",
      reason: `bucket ${b.name} has no BucketVersioning with status Enabled`,
    });
    // Preview: the sibling's bucket id is unknown, matched through the parent instead.
    expect(verdict(bucketVersioning, b, [b, res("aws:s3/bucketVersioning:BucketVersioning", { versioningConfiguration: { status: "Enabled" } }, { parent: "urn:comp" })])).toEqual(C);
    expect(verdict(bucketVersioning, res("docker:index/volume:Volume", {}))).toEqual(NA);
  });

  it("bucket-lifecycle-configured", () => {
    const b = bucket();
    const full = [
      { status: "Enabled", expiration: { days: 30 } },
      { status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 30 } },
      { status: "Enabled", abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
    ];
    expect(verdict(bucketLifecycle, b, [b, sib("bucketLifecycleConfiguration:BucketLifecycleConfiguration", { rules: full })])).toEqual(C);
    expect(verdict(bucketLifecycle, b, [b, sib("bucketLifecycleConfiguration:BucketLifecycleConfiguration", { rules: full.slice(0, 1) })])).toEqual({
      status: "non-compliant",
      reason: `bucket ${b.name} lifecycle lacks noncurrent-version expiration, abort of incomplete multipart uploads`,
    });
    expect(verdict(bucketLifecycle, b)).toEqual({ status: "non-compliant", reason: `bucket ${b.name} has no BucketLifecycleConfiguration` });
  });

  it("bucket-encryption-enabled", () => {
    const b = bucket();
    expect(verdict(bucketEncryption, b, [b, sib("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] })])).toEqual(C);
    expect(verdict(bucketEncryption, b)).toEqual({ status: "non-compliant", reason: `bucket ${b.name} has no default server-side encryption` });
    const b2 = res("pulumi-nodejs:dynamic/cloudsync-s3compat:Bucket", { encryption: "none" });
    expect(verdict(bucketEncryption, b2)).toEqual({ status: "non-compliant", reason: `bucket ${b2.name} has encryption "none", not AES256` });
  });

  it("bucket-public-access-blocked", () => {
    const b = bucket();
    const all = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
    expect(verdict(bucketPublicAccess, b, [b, sib("bucketPublicAccessBlock:BucketPublicAccessBlock", all)])).toEqual(C);
    expect(verdict(bucketPublicAccess, b, [b, sib("bucketPublicAccessBlock:BucketPublicAccessBlock", { ...all, restrictPublicBuckets: false })])).toEqual({
      status: "non-compliant",
      reason: `bucket ${b.name} public access block has restrictPublicBuckets off`,
    });
    const pub = res("aws:s3/bucket:Bucket", { bucket: "p", acl: "public-read" });
    expect(verdict(bucketPublicAccess, pub)).toEqual({ status: "non-compliant", reason: `bucket ${pub.name} has ACL public-read` });
  });

  it("runtime-credentials-cannot-destroy-history", () => {
    const good = res("aws:iam/userPolicy:UserPolicy", { policy: JSON.stringify(runtimePolicyDocument({ bucket: "b", prefix: "p/" })) });
    expect(verdict(runtimeCredentials, good)).toEqual(C);
    const star = res("aws:iam/userPolicy:UserPolicy", { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) });
    expect(verdict(runtimeCredentials, star)).toEqual({
      status: "non-compliant",
      reason: `${star.name} allows s3:DeleteObjectVersion, s3:PutLifecycleConfiguration, s3:PutBucketVersioning, s3:BypassGovernanceRetention`,
    });
    const noDeny = res("aws:iam/policy:Policy", { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: "*" }] }) });
    expect(verdict(runtimeCredentials, noDeny)).toEqual({
      status: "non-compliant",
      reason: `${noDeny.name} does not explicitly deny s3:DeleteObjectVersion, s3:PutLifecycleConfiguration, s3:PutBucketVersioning, s3:BypassGovernanceRetention`,
    });
    expect(verdict(runtimeCredentials, res("aws:iam/policy:Policy", { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "ec2:Describe*" }] }) }))).toEqual(NA);
  });

  it("mongo-not-public", () => {
    const ok = res("docker:index/container:Container", { image: "mongo:8.0.12", ports: [{ internal: 27017, external: 27017, ip: "127.0.0.1" }] });
    expect(verdict(mongoNotPublic, ok)).toEqual(C);
    const open = res("docker:index/container:Container", { image: "mongo:8.0.12", ports: [{ internal: 27017, external: 27017 }] });
    expect(verdict(mongoNotPublic, open)).toEqual({ status: "non-compliant", reason: `${open.name} binds MongoDB to 0.0.0.0; bind 127.0.0.1 or allow it explicitly` });
    const allowed = res("docker:index/container:Container", { image: "mongo:8.0.12", ports: [{ internal: 27017, ip: "0.0.0.0" }], labels: [{ label: "cloudsync.allow-public", value: "true" }] });
    expect(verdict(mongoNotPublic, allowed)).toEqual(C);
    expect(verdict(mongoNotPublic, res("docker:index/container:Container", { image: "nginx:1", ports: [{ internal: 80 }] }))).toEqual(NA);
  });

  it("no-plaintext-secrets", () => {
    const ok = res("docker:index/container:Container", { envs: ["MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/p", "TZ=UTC"], command: ["mongod"] });
    expect(verdict(noPlaintextSecrets, ok)).toEqual(C);
    const bad = res("docker:index/container:Container", { envs: ["MONGO_INITDB_ROOT_PASSWORD=hunter2", "X=mongodb://u:p@h/"], command: ["mongosh", "--password", "hunter2"] });
    expect(verdict(noPlaintextSecrets, bad)).toEqual({
      status: "non-compliant",
      reason: `${bad.name} has plaintext secrets in env MONGO_INITDB_ROOT_PASSWORD, env X (URL with password), argument 1 (password flag)`,
    });
    const cmd = res("command:remote:Command", { create: "mysql -p secret" });
    expect(verdict(noPlaintextSecrets, cmd)).toEqual({ status: "non-compliant", reason: `${cmd.name} has plaintext secrets in argument 0 (password flag)` });
  });

  it("data-volumes-protected", () => {
    expect(verdict(dataProtected, res("docker:index/volume:Volume", {}, { protect: true }))).toEqual(C);
    const v = res("docker:index/volume:Volume", {});
    expect(verdict(dataProtected, v)).toEqual({ status: "non-compliant", reason: `${v.name} (docker:index/volume:Volume) holds data but is not protected` });
    expect(verdict(dataProtected, res("docker:index/network:Network", {}))).toEqual(NA);
  });
});

function violations(run: MockedRun): string[] {
  const views: ResourceView[] = run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, protect: r.protect, ...(r.parent ? { parent: r.parent } : {}) }));
  const out: string[] = [];
  for (const rule of RULES) {
    for (const v of views) {
      const result = rule.check(v, views);
      if (result.status === "non-compliant") out.push(`${rule.name}: ${result.reason}`);
    }
  }
  return out;
}

function applicable(run: MockedRun): string[] {
  const views: ResourceView[] = run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, protect: r.protect, ...(r.parent ? { parent: r.parent } : {}) }));
  return RULES.filter((rule) => views.some((v) => rule.check(v, views).status !== "not-applicable")).map((r) => r.name);
}

describe("every rule over every stack's mocked resources", () => {
  const SECRETS = {
    "cloudsync:mongoRootPassword": "pw",
    "cloudsync:mongoKeyfile": "a2V5ZmlsZQ==",
    "cloudsync:b2AdminKeyId": "id",
    "cloudsync:b2AdminKey": "key",
    "cloudsync:sshPrivateKey": "ssh",
    "cloudsync:metadataApiKey": "0123456789abcdef0123456789abcdef",
  };
  const pick = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, SECRETS[k as keyof typeof SECRETS]]));
  const bundle = { buildBundle: async (dir: string) => ({ dir, releaseId: "0123456789abcdef" }) };

  it("local: all compliant", async () => {
    const s = pick(["cloudsync:mongoRootPassword", "cloudsync:mongoKeyfile"]);
    const run = await runMocked("local", { ...stackYaml("local"), "cloudsync:backupRecipients": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", ...s }, Object.keys(s), local);
    expect(violations(run)).toEqual([]);
    expect(applicable(run)).toEqual(["mongo-not-public", "no-plaintext-secrets", "data-volumes-protected"]);
  });

  it("cloud (aws): all compliant", async () => {
    const s = pick(["cloudsync:sshPrivateKey", "cloudsync:metadataApiKey"]);
    const run = await runMocked("cloud", { ...stackYaml("cloud"), "cloudsync:provider": "aws", ...s }, Object.keys(s), () => cloud(bundle));
    expect(violations(run)).toEqual([]);
    expect(applicable(run)).toEqual(RULES.filter((r) => r.name !== "mongo-not-public").map((r) => r.name));
  });

  it("cloud (backblaze): all compliant", async () => {
    const s = pick(["cloudsync:b2AdminKeyId", "cloudsync:b2AdminKey", "cloudsync:sshPrivateKey", "cloudsync:metadataApiKey"]);
    const run = await runMocked("cloud", { ...stackYaml("cloud"), ...s }, Object.keys(s), () => cloud(bundle));
    expect(violations(run)).toEqual([]);
  });

  it("atlas: all compliant", async () => {
    const run = await runMocked("atlas", { ...stackYaml("atlas"), "cloudsync:atlasOrgId": "0123456789abcdef01234567", "cloudsync:accessList": "203.0.113.7/32" }, [], atlas);
    expect(violations(run)).toEqual([]);
  });
});

describe("the rules as CrossGuard runs them during a preview", () => {
  // What the policy SDK hands a stack policy: props behind its unknown-checking proxy, with the
  // sentinel CrossGuard uses for an output not known yet (here the bucket id a sibling refers to).
  const proxy = createRequire(import.meta.url)("@pulumi/policy/proxy.js") as { unknownCheckingProxy<T>(v: T): T; unknownStringValue: string };
  const policyResource = (type: string, name: string, props: Record<string, unknown>, protect: boolean): PolicyResource =>
    ({ type, name, urn: `urn:pulumi:cloud::cloudsync::cloudsync:infra:BackupBucket$${type}::${name}`, props: proxy.unknownCheckingProxy(props), opts: { protect }, parent: { urn: "urn:comp" } }) as unknown as PolicyResource;

  it("runs bucket-versioning-enabled (and reports its violation) when the sibling's bucket id is unknown", async () => {
    const bucket = policyResource("aws:s3/bucket:Bucket", "backups-bucket", { bucket: "cloudsync-backups-example" }, true);
    const versioning = policyResource("aws:s3/bucketVersioning:BucketVersioning", "backups-versioning", { bucket: proxy.unknownStringValue, versioningConfiguration: { status: "Suspended" } }, false);
    const [policy] = toPolicies([bucketVersioning]);
    const reported: string[] = [];
    await policy!.validateStack({ resources: [bucket, versioning] } as unknown as StackValidationArgs, (message, urn) => reported.push(`${urn}: ${message}`));
    expect(reported).toEqual([`${bucket.urn}: bucket backups-bucket has no BucketVersioning with status Enabled`]);
  });

  it("leaves unknown values out of a view, keeping the known ones", () => {
    const v = viewOf(policyResource("aws:s3/bucketVersioning:BucketVersioning", "v", { bucket: proxy.unknownStringValue, tags: [proxy.unknownStringValue, "x"], versioningConfiguration: { status: "Enabled" } }, false));
    expect(v.props).toEqual({ tags: [undefined, "x"], versioningConfiguration: { status: "Enabled" } });
  });
});
