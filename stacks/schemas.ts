/**
 * The config keys each stack accepts (namespace `cloudsync:`), with defaults and the cross-key
 * rules. The values for an environment live in `Pulumi.<stack>.yaml`; secrets are set with
 * `pulumi config set --secret`. docs/INFRA.md documents every key listed here.
 */
import { B2_ENDPOINT, b2EndpointSettings, LOOPBACK_ENDPOINT, REGION } from "../infra/b2-endpoint.js";
import type { ConfigSchema, ConfigValues, CrossCheck } from "../infra/config.js";

/** The config namespace: the Pulumi project name. */
export const NS = "cloudsync";

const IMAGE_REF = /^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const STACK_REF = /^[\w.-]+\/[\w.-]+\/[\w.-]+$/;
const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** Keys of the `local` stack: MongoDB in Docker plus the backup agent with local retention. */
export const localSchema = {
  mongoImage: { kind: "string", default: "mongo:8.0.12", pattern: IMAGE_REF, hint: "an image reference such as mongo:8.0.12 or mongo:8.0.12@sha256:<digest>" },
  mongoContainerName: { kind: "string", default: "cloudsync-mongo", pattern: NAME, hint: "a container name" },
  mongoPort: { kind: "int", default: 27017, min: 1, max: 65535 },
  mongoBindAddress: { kind: "string", default: "127.0.0.1", pattern: IPV4, hint: "an IPv4 address such as 127.0.0.1" },
  mongoAllowPublic: { kind: "bool", default: false },
  mongoMemoryMb: { kind: "int", default: 1024, min: 256 },
  mongoReplicaSet: { kind: "string", default: "rs0", pattern: /^[A-Za-z0-9_-]+$/, hint: "letters, digits, - and _" },
  mongoRootUser: { kind: "string", default: "root", pattern: /^[A-Za-z0-9_.-]+$/, hint: "letters, digits, ., - and _" },
  mongoRootPassword: { kind: "secret", required: true },
  mongoKeyfile: { kind: "secret", required: true, pattern: /^[A-Za-z0-9+/=\s]{6,1024}$/, hint: "6–1024 base64 characters (openssl rand -base64 756)" },
  backupSchedule: { kind: "cron", default: "0 3 * * *" },
  backupRetentionDays: { kind: "int", default: 7, min: 1 },
  backupRecipients: { kind: "list", required: true, item: AGE_RECIPIENT, hint: "age X25519 recipients (age1…), comma-separated" },
  agentImageName: { kind: "string", default: "cloudsync-agent:local", pattern: IMAGE_REF, hint: "an image name such as cloudsync-agent:local" },
  agentMemoryMb: { kind: "int", default: 512, min: 128 },
  agentPlatform: { kind: "string", pattern: /^linux\/(amd64|arm64|arm\/v[67]|386|ppc64le|s390x|riscv64)$/, hint: "a Docker platform such as linux/amd64 or linux/arm64 (unset: the Docker daemon's own)" },
  cloudStack: { kind: "string", pattern: STACK_REF, hint: "a fully qualified stack name <org>/cloudsync/cloud" },
} as const satisfies ConfigSchema;

/** Validated config of the `local` stack. */
export type LocalConfig = ConfigValues<typeof localSchema>;

/** Binding MongoDB to anything but loopback must be an explicit decision. */
export const localCross: CrossCheck<typeof localSchema> = (c) => {
  const m = IPV4.exec(c.mongoBindAddress);
  const badOctet = m !== null && m.slice(1).some((o) => Number(o) > 255);
  if (badOctet) return [{ key: "mongoBindAddress", message: `invalid IPv4 address ${JSON.stringify(c.mongoBindAddress)}` }];
  if (!c.mongoBindAddress.startsWith("127.") && !c.mongoAllowPublic) {
    return [{ key: "mongoBindAddress", message: `binding MongoDB to ${c.mongoBindAddress} exposes it beyond this machine; keep 127.0.0.1 or set cloudsync:mongoAllowPublic true` }];
  }
  return [];
};

/** Keys of the `cloud` stack: the backup bucket, runtime credentials and the metadata server. */
export const cloudSchema = {
  provider: { kind: "enum", values: ["aws", "backblaze"], required: true },
  bucketName: { kind: "string", required: true, pattern: /^[a-z0-9][a-z0-9-]{4,48}[a-z0-9]$/, hint: "6–50 lower-case letters, digits and hyphens (valid on both S3 and B2)" },
  bucketPrefix: { kind: "string", default: "backups/", pattern: /^([A-Za-z0-9._-]+\/)+$/, hint: "a key prefix ending in / such as backups/" },
  retentionDays: { kind: "int", default: 30, min: 1 },
  noncurrentDays: { kind: "int", default: 30, min: 1 },
  objectLockDays: { kind: "int", default: 0, min: 0 },
  objectLockMode: { kind: "enum", values: ["GOVERNANCE", "COMPLIANCE"], default: "GOVERNANCE" },
  runtimeUserName: { kind: "string", default: "cloudsync-backup", pattern: /^[A-Za-z0-9+=,.@_-]{1,64}$/, hint: "an IAM user name" },
  b2Endpoint: {
    kind: "string",
    pattern: new RegExp(`${B2_ENDPOINT.source}|${LOOPBACK_ENDPOINT.source}`),
    hint: "https://s3.<region>.backblazeb2.com, or for a local S3-compatible server for testing http(s)://127.0.0.1, [::1] or localhost with an optional port",
  },
  b2Region: { kind: "string", pattern: REGION, hint: "a region name such as us-east-1 (unset: the B2 endpoint's own, or us-east-1 for a loopback endpoint)" },
  bucketEncryption: { kind: "enum", values: ["AES256", "none"], default: "AES256" },
  b2AdminKeyId: { kind: "secret" },
  b2AdminKey: { kind: "secret" },
  b2RuntimeKeyId: { kind: "secret" },
  b2RuntimeKey: { kind: "secret" },
  metadataEnabled: { kind: "bool", default: true },
  metadataHost: { kind: "string", pattern: /^[A-Za-z0-9.-]+$/, hint: "the SSH host name, e.g. jeffreysanford.us" },
  metadataDomain: { kind: "string", pattern: /^[a-z0-9.-]+\.[a-z]{2,}$/, hint: "the public domain, e.g. jeffreysanford.us" },
  metadataPort: { kind: "int", default: 8787, min: 1024, max: 65535 },
  metadataMemoryMaxMiB: { kind: "int", default: 192, min: 32 },
  metadataNodePath: { kind: "string", default: "/usr/bin/node", pattern: /^\/[A-Za-z0-9._/@+-]*$/, hint: "the absolute path of the host's node, e.g. /usr/bin/node" },
  metadataBundleDir: { kind: "string", default: "dist/metadata-bundle", pattern: /^[A-Za-z0-9._/-]+$/, hint: "a directory path" },
  sshUser: { kind: "string", default: "deploy", pattern: /^[a-z_][a-z0-9_-]*$/, hint: "a Unix user name" },
  sshPort: { kind: "int", default: 22, min: 1, max: 65535 },
  sshPrivateKey: { kind: "secret" },
  metadataApiKey: { kind: "secret", pattern: /^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]{16,512}$/, hint: "16–512 printable characters without spaces, quotes or backslashes (openssl rand -hex 32)" },
} as const satisfies ConfigSchema;

/** Validated config of the `cloud` stack. */
export type CloudConfig = ConfigValues<typeof cloudSchema>;

/** Provider- and feature-dependent requirements. */
export const cloudCross: CrossCheck<typeof cloudSchema> = (c, raw) => {
  const out: ReturnType<CrossCheck<typeof cloudSchema>>[number][] = [];
  if (c.provider === "aws" && !raw.values["aws:region"]) out.push({ key: "aws:region", message: "required when provider is aws; set it with `pulumi config set aws:region <region>`" });
  if (c.provider === "aws" && c.bucketEncryption !== "AES256") out.push({ key: "bucketEncryption", message: "only AES256 with provider aws (S3 always has it); none is for S3-compatible servers without server-side encryption" });
  if (c.provider === "backblaze") {
    if (!c.b2Endpoint) out.push({ key: "b2Endpoint", message: "required when provider is backblaze (the bucket's S3 endpoint, https://s3.<region>.backblazeb2.com)" });
    if (!c.b2AdminKeyId) out.push({ key: "b2AdminKeyId", message: "required secret when provider is backblaze (a key allowed to create buckets)" });
    if (!c.b2AdminKey) out.push({ key: "b2AdminKey", message: "required secret when provider is backblaze" });
    if (c.b2Endpoint && c.b2Region) {
      try {
        b2EndpointSettings(c.b2Endpoint, c.b2Region);
      } catch (e) {
        out.push({ key: "b2Region", message: (e as Error).message });
      }
    }
    if (c.b2RuntimeKeyId !== c.b2RuntimeKey) out.push({ key: c.b2RuntimeKeyId ? "b2RuntimeKey" : "b2RuntimeKeyId", message: "set both b2RuntimeKeyId and b2RuntimeKey, or neither" });
  }
  if (c.metadataEnabled) {
    if (!c.metadataHost) out.push({ key: "metadataHost", message: "required when metadataEnabled is true" });
    if (!c.metadataDomain) out.push({ key: "metadataDomain", message: "required when metadataEnabled is true" });
    if (!c.sshPrivateKey) out.push({ key: "sshPrivateKey", message: "required secret when metadataEnabled is true" });
    if (!c.metadataApiKey) out.push({ key: "metadataApiKey", message: "required secret when metadataEnabled is true (the shared CLOUD_SYNC_API_KEY)" });
  }
  return out;
};

/** Keys of the `atlas` stack: a MongoDB Atlas project and cluster. */
export const atlasSchema = {
  atlasOrgId: { kind: "string", required: true, pattern: /^[0-9a-f]{24}$/, hint: "the 24-hex-digit Atlas organization id" },
  atlasProjectName: { kind: "string", default: "cloudsync", pattern: /^[A-Za-z0-9 _-]{1,64}$/ },
  clusterName: { kind: "string", default: "cloudsync", pattern: /^[A-Za-z0-9-]{1,64}$/, hint: "letters, digits and hyphens" },
  instanceSize: { kind: "enum", values: ["M10", "M20", "M30", "M40", "M50"], default: "M10" },
  cloudProvider: { kind: "enum", values: ["AWS", "GCP", "AZURE"], default: "AWS" },
  region: { kind: "string", default: "EU_CENTRAL_1", pattern: /^[A-Z0-9_]+$/, hint: "an Atlas region name such as EU_CENTRAL_1" },
  mongoVersion: { kind: "string", default: "8.0", pattern: /^\d+\.\d+$/ },
  dbUser: { kind: "string", default: "cloudsync", pattern: /^[A-Za-z0-9_.-]+$/ },
  accessList: { kind: "list", required: true, item: CIDR, hint: "CIDR blocks such as 203.0.113.7/32, comma-separated" },
  allowPublicAccess: { kind: "bool", default: false },
  snapshotRetentionDays: { kind: "int", default: 7, min: 1 },
  snapshotHourUtc: { kind: "int", default: 3, min: 0, max: 23 },
  localStack: { kind: "string", pattern: STACK_REF, hint: "a fully qualified stack name <org>/cloudsync/local" },
} as const satisfies ConfigSchema;

/** Validated config of the `atlas` stack. */
export type AtlasConfig = ConfigValues<typeof atlasSchema>;

/** An access list open to the whole internet must be an explicit decision. */
export const atlasCross: CrossCheck<typeof atlasSchema> = (c, raw) => {
  const out: ReturnType<CrossCheck<typeof atlasSchema>>[number][] = [];
  if (c.accessList.includes("0.0.0.0/0") && !c.allowPublicAccess) {
    out.push({ key: "accessList", message: "0.0.0.0/0 opens the cluster to the whole internet; list your addresses or set cloudsync:allowPublicAccess true" });
  }
  // The provider also reads MONGODB_ATLAS_PRIVATE_KEY; when the key is in stack config it must be a secret.
  if (raw.values["mongodbatlas:privateKey"] !== undefined && !raw.secretKeys.has("mongodbatlas:privateKey")) {
    out.push({ key: "mongodbatlas:privateKey", message: "must be stored as a secret; run `pulumi config set --secret mongodbatlas:privateKey …` (and rotate the key: it was in plain text)" });
  }
  return out;
};
