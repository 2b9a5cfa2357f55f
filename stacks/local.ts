/**
 * Stack `local` (phase 1): MongoDB in Docker as a single-node replica set, and the backup agent
 * writing encrypted backups to a local volume with 7-day retention. With `cloudsync:cloudStack`
 * set (phase 2), the agent also uploads to the cloud stack's bucket, reading the bucket and the
 * runtime credentials from that stack through a StackReference.
 */
import * as pulumi from "@pulumi/pulumi";
import { BackupAgent } from "../infra/backup-agent.js";
import { MongoNode } from "../infra/mongo-node.js";
import { agentMongoUri } from "../infra/mongo-container.js";
import { dockerNamePrefix } from "../infra/docker-names.js";
import type { AgentCloudTarget } from "../infra/agent-container.js";
import { loadStackConfig, secret } from "./read-config.js";
import { localCross, localSchema } from "./schemas.js";

/** Runs the `local` stack program; returns its outputs. */
export async function local(): Promise<Record<string, unknown>> {
  const c = loadStackConfig(localSchema, localCross);
  const rootPassword = secret("mongoRootPassword");
  const prefix = dockerNamePrefix(pulumi.getStack());
  const mongo = new MongoNode("mongo", {
    image: c.mongoImage,
    containerName: c.mongoContainerName,
    hostPort: c.mongoPort,
    bindAddress: c.mongoBindAddress,
    allowPublic: c.mongoAllowPublic,
    memoryMb: c.mongoMemoryMb,
    replicaSet: c.mongoReplicaSet,
    rootUser: c.mongoRootUser,
    rootPassword,
    keyfile: secret("mongoKeyfile"),
    dockerNamePrefix: prefix,
  });

  let cloud: pulumi.Output<AgentCloudTarget> | undefined;
  let cloudCredentials: Record<string, pulumi.Output<string>> | undefined;
  if (c.cloudStack) {
    const ref = new pulumi.StackReference("cloud", { name: c.cloudStack });
    cloud = ref.requireOutput("agentCloudTarget") as pulumi.Output<AgentCloudTarget>;
    cloudCredentials = {
      AWS_ACCESS_KEY_ID: pulumi.secret(ref.requireOutput("runtimeAccessKeyId") as pulumi.Output<string>),
      AWS_SECRET_ACCESS_KEY: pulumi.secret(ref.requireOutput("runtimeSecretAccessKey") as pulumi.Output<string>),
    };
  }

  const agent = new BackupAgent("agent", {
    imageName: c.agentImageName,
    buildContext: ".",
    networkName: mongo.networkName,
    mongoUri: pulumi.secret(rootPassword.apply((password) => agentMongoUri({ host: c.mongoContainerName, user: c.mongoRootUser, password, replSet: c.mongoReplicaSet }))),
    schedule: c.backupSchedule,
    retentionDays: c.backupRetentionDays,
    recipients: c.backupRecipients,
    memoryMb: c.agentMemoryMb,
    ...(c.agentPlatform ? { platform: c.agentPlatform } : {}),
    dockerNamePrefix: prefix,
    ...(cloud ? { cloud } : {}),
    ...(cloudCredentials ? { cloudCredentials } : {}),
  });

  return {
    mongoEndpoint: mongo.hostEndpoint,
    mongoContainer: mongo.containerName,
    mongoReplicaSet: c.mongoReplicaSet,
    mongoDataVolume: mongo.dataVolumeName,
    mongoConfigVolume: mongo.configVolumeName,
    // Without the password: host clients add it themselves.
    mongoConnectionHint: pulumi.interpolate`mongodb://${c.mongoRootUser}@${mongo.hostEndpoint}/?authSource=admin&directConnection=true`,
    agentContainer: agent.containerName,
    backupsVolume: agent.backupsVolumeName,
    backupSchedule: c.backupSchedule,
    backupRetentionDays: c.backupRetentionDays,
    cloudEnabled: c.cloudStack !== undefined,
  };
}
