/**
 * Stack `cloud` (phase 2): the backup bucket on AWS S3 or Backblaze B2, runtime credentials that
 * cannot destroy history, and the public metadata server on the user's host. Its outputs feed the
 * `local` stack's agent (`cloudsync:cloudStack`).
 */
import * as pulumi from "@pulumi/pulumi";
import path from "node:path";
import { b2EndpointSettings } from "../infra/b2-endpoint.js";
import { BackupBucket } from "../infra/backup-bucket.js";
import { b2RuntimeKeySpec } from "../infra/b2-key.js";
import { MetadataServer } from "../infra/metadata-server.js";
import { RuntimeCredentials } from "../infra/runtime-credentials.js";
import type { AgentCloudTarget } from "../infra/agent-container.js";
import { buildServerBundle } from "../runtime/src/metadata/deploy/index.js";
import { loadStackConfig, secret } from "./read-config.js";
import { cloudCross, cloudSchema } from "./schemas.js";

/** What the cloud stack needs from outside: the metadata bundle builder (replaced in tests). */
export interface CloudDeps {
  readonly buildBundle: (outDir: string) => Promise<{ dir: string; releaseId: string }>;
}

/** Runs the `cloud` stack program; returns its outputs. */
export async function cloud(deps: CloudDeps = { buildBundle: (d) => buildServerBundle(d) }): Promise<Record<string, unknown>> {
  const c = loadStackConfig(cloudSchema, cloudCross);
  const common = {
    bucketName: c.bucketName,
    prefix: c.bucketPrefix,
    retentionDays: c.retentionDays,
    noncurrentDays: c.noncurrentDays,
    objectLockDays: c.objectLockDays,
    objectLockMode: c.objectLockMode as "GOVERNANCE" | "COMPLIANCE",
  };
  const outputs: Record<string, unknown> = {};

  if (c.provider === "aws") {
    const region = new pulumi.Config("aws").require("region");
    const bucket = new BackupBucket("backups", { provider: "aws", ...common });
    // The configured name, not the bucket's output: the policy document is then fully known at
    // preview time, so the policy pack checks it before anything is created.
    const creds = new RuntimeCredentials("runtime", { userName: c.runtimeUserName, bucketName: c.bucketName, prefix: c.bucketPrefix });
    const target: pulumi.Output<AgentCloudTarget> = bucket.bucketName.apply((b) => ({ provider: "s3" as const, bucket: b, prefix: c.bucketPrefix, region }));
    Object.assign(outputs, {
      bucketName: bucket.bucketName,
      bucketArn: bucket.bucketArn,
      destination: bucket.destination,
      agentCloudTarget: target,
      runtimeUser: creds.userName,
      runtimePolicy: creds.policyJson,
      runtimeAccessKeyId: creds.accessKeyId,
      runtimeSecretAccessKey: creds.secretAccessKey,
    });
  } else {
    const endpoint = c.b2Endpoint!;
    const { region } = b2EndpointSettings(endpoint, c.b2Region);
    const bucket = new BackupBucket("backups", {
      provider: "backblaze",
      ...common,
      encryption: c.bucketEncryption as "AES256" | "none",
      endpoint,
      region,
      adminKeyId: secret("b2AdminKeyId"),
      adminKey: secret("b2AdminKey"),
    });
    const spec = b2RuntimeKeySpec({ bucket: c.bucketName, namePrefix: c.bucketPrefix, stack: pulumi.getStack() });
    const target: pulumi.Output<AgentCloudTarget> = bucket.bucketName.apply((b) => ({ provider: "backblaze" as const, bucket: b, prefix: c.bucketPrefix, endpoint, region }));
    Object.assign(outputs, {
      bucketName: bucket.bucketName,
      destination: bucket.destination,
      endpoint: bucket.endpoint,
      agentCloudTarget: target,
      b2RuntimeKeyCapabilities: spec.capabilities,
      b2RuntimeKeyCommand: spec.command,
      b2RuntimeKeyStoreCommands: spec.storeCommands,
      ...(c.b2RuntimeKeyId ? { runtimeAccessKeyId: secret("b2RuntimeKeyId"), runtimeSecretAccessKey: secret("b2RuntimeKey") } : {}),
    });
  }

  if (c.metadataEnabled) {
    const bundle = await deps.buildBundle(path.resolve(c.metadataBundleDir, "bundle"));
    const server = new MetadataServer("metadata", {
      connection: { host: c.metadataHost!, port: c.sshPort, user: c.sshUser, privateKey: secret("sshPrivateKey") },
      domain: c.metadataDomain!,
      bundle: { dir: bundle.dir, releaseId: bundle.releaseId },
      apiKey: secret("metadataApiKey"),
      host: { port: c.metadataPort, memoryMaxMiB: c.metadataMemoryMaxMiB, nodePath: c.metadataNodePath },
    });
    Object.assign(outputs, { metadataUrl: server.url, metadataRelease: server.releaseId });
  }
  return outputs;
}
