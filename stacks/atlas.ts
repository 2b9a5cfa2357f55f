/**
 * Stack `atlas` (phase 3): MongoDB Atlas becomes the primary; the `local` stack keeps running as
 * the warm standby. With `cloudsync:localStack` set, the standby's endpoint is read from the
 * local stack through a StackReference and the exact `cloudsync standby` command is exported.
 */
import * as pulumi from "@pulumi/pulumi";
import { AtlasCluster } from "../infra/atlas-cluster.js";
import { loadStackConfig } from "./read-config.js";
import { atlasCross, atlasSchema } from "./schemas.js";

/** Runs the `atlas` stack program; returns its outputs. */
export async function atlas(): Promise<Record<string, unknown>> {
  const c = loadStackConfig(atlasSchema, atlasCross);
  const cluster = new AtlasCluster("atlas", {
    orgId: c.atlasOrgId,
    projectName: c.atlasProjectName,
    clusterName: c.clusterName,
    instanceSize: c.instanceSize,
    cloudProvider: c.cloudProvider,
    region: c.region,
    mongoVersion: c.mongoVersion,
    dbUser: c.dbUser,
    accessList: c.accessList,
    snapshotRetentionDays: c.snapshotRetentionDays,
    snapshotHourUtc: c.snapshotHourUtc,
  });
  const outputs: Record<string, unknown> = { projectId: cluster.projectId, connectionString: cluster.connectionString };
  if (c.localStack) {
    const local = new pulumi.StackReference("local", { name: c.localStack });
    const standby = local.requireOutput("mongoConnectionHint") as pulumi.Output<string>;
    outputs.standbyEndpoint = local.requireOutput("mongoEndpoint");
    // Both URIs need passwords at run time; the command names where they come from, never the values.
    outputs.standbyCommand = pulumi.interpolate`cloudsync standby --primary "$ATLAS_URI" --standby "${standby}"`;
  }
  return outputs;
}
