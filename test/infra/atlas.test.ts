import { describe, expect, it } from "vitest";
import { atlas } from "../../stacks/atlas.js";
import { one, runMocked, stackYaml } from "./harness.js";

const REQUIRED = { "cloudsync:atlasOrgId": "0123456789abcdef01234567", "cloudsync:accessList": "203.0.113.7/32, 198.51.100.0/24", "cloudsync:localStack": "me/cloudsync/local" };
const LOCAL_OUTPUTS = { "me/cloudsync/local": { mongoEndpoint: "127.0.0.1:27017", mongoConnectionHint: "mongodb://root@127.0.0.1:27017/?authSource=admin&directConnection=true" } };

describe("stack atlas (mocked)", async () => {
  const run = await runMocked("atlas", { ...stackYaml("atlas"), ...REQUIRED }, [], atlas, LOCAL_OUTPUTS);

  it("registers exactly the expected resources", () => {
    expect(run.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "cloudsync:infra:AtlasCluster atlas",
        "random:index/randomPassword:RandomPassword atlas-db-password",
        "mongodbatlas:index/advancedCluster:AdvancedCluster atlas-cluster",
        "mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule atlas-backup-schedule",
        "mongodbatlas:index/databaseUser:DatabaseUser atlas-db-user",
        "mongodbatlas:index/project:Project atlas-project",
        "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList atlas-access-0",
        "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList atlas-access-1",
        "pulumi:pulumi:StackReference local",
      ].sort(),
    );
  });

  it("creates a protected M10 replica set in the configured region with backups on", () => {
    const c = one(run, "mongodbatlas:index/advancedCluster:AdvancedCluster", "atlas-cluster");
    expect(c.protect).toBe(true);
    expect([c.inputs.name, c.inputs.clusterType, c.inputs.mongoDbMajorVersion, c.inputs.backupEnabled, c.inputs.terminationProtectionEnabled]).toEqual(["cloudsync", "REPLICASET", "8.0", true, true]);
    expect(c.inputs.replicationSpecs).toEqual([{ regionConfigs: [{ providerName: "AWS", regionName: "EU_CENTRAL_1", priority: 7, electableSpecs: { instanceSize: "M10", nodeCount: 3 } }] }]);
  });

  it("generates the user's password once as a secret and never puts it in plain inputs", () => {
    const pw = one(run, "random:index/randomPassword:RandomPassword", "atlas-db-password");
    expect(pw.inputs).toEqual({ length: 32, special: false, upper: true, lower: true, numeric: true });
    // The provider marks `result` secret itself; the SDK asks for it again so state never holds it in plain text.
    expect(pw.additionalSecretOutputs).toContain("result");
    const user = one(run, "mongodbatlas:index/databaseUser:DatabaseUser", "atlas-db-user");
    expect(user.secretInputs).toContain("password");
    expect([user.inputs.username, user.inputs.authDatabaseName, user.inputs.roles]).toEqual(["cloudsync", "admin", [{ roleName: "readWriteAnyDatabase", databaseName: "admin" }]]);
  });

  it("lists exactly the configured addresses and schedules daily snapshots", () => {
    expect(run.resources.filter((r) => r.type.endsWith("ProjectIpAccessList")).map((r) => r.inputs.cidrBlock)).toEqual(["203.0.113.7/32", "198.51.100.0/24"]);
    const s = one(run, "mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule", "atlas-backup-schedule").inputs;
    expect([s.referenceHourOfDay, s.referenceMinuteOfHour, s.policyItemDaily]).toEqual([3, 0, { frequencyInterval: 1, retentionUnit: "days", retentionValue: 7 }]);
  });

  it("exports the connection string as a secret and the standby command from the local stack", () => {
    expect(run.outputs.connectionString).toBe("mongodb+srv://cloudsync:generatedPassword0123456789abcdef@cloudsync.abcde.mongodb.net");
    expect(run.secretOutputs).toContain("connectionString");
    expect(run.outputs.standbyEndpoint).toBe("127.0.0.1:27017");
    expect(run.outputs.standbyCommand).toBe('cloudsync standby --primary "$ATLAS_URI" --standby "mongodb://root@127.0.0.1:27017/?authSource=admin&directConnection=true"');
  });
});
