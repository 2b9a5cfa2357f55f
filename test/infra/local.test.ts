import { describe, expect, it } from "vitest";
import { local } from "../../stacks/local.js";
import { one, runMocked, stackYaml } from "./harness.js";

const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const SECRETS = { "cloudsync:mongoRootPassword": "p@ss:w/rd-local-only", "cloudsync:mongoKeyfile": "a2V5ZmlsZWtleWZpbGVrZXlmaWxl" };
const base = (): Record<string, string> => ({ ...stackYaml("local"), "cloudsync:backupRecipients": RECIPIENT, ...SECRETS });

describe("stack local (mocked)", async () => {
  const run = await runMocked("local", base(), Object.keys(SECRETS), local);

  it("registers exactly the expected resources", () => {
    expect(run.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "cloudsync:infra:BackupAgent agent",
        "cloudsync:infra:MongoNode mongo",
        "docker:index/container:Container agent-daemon",
        "docker:index/container:Container mongo-mongod",
        "docker:index/image:Image agent-image",
        "docker:index/network:Network mongo-net",
        "docker:index/volume:Volume agent-backups",
        "docker:index/volume:Volume mongo-config",
        "docker:index/volume:Volume mongo-data",
      ].sort(),
    );
  });

  it("protects and retains every data volume under a Docker name of this stack's own, and parents children to their component", () => {
    for (const name of ["mongo-data", "mongo-config", "agent-backups"]) {
      const v = one(run, "docker:index/volume:Volume", name);
      expect([v.protect, v.retainOnDelete, v.inputs.name]).toEqual([true, true, `cloudsync-local-${name}`]);
    }
    expect(one(run, "docker:index/network:Network", "mongo-net").inputs.name).toBe("cloudsync-local-mongo-net");
    expect(one(run, "docker:index/container:Container", "agent-daemon").inputs.name).toBe("cloudsync-local-agent-daemon");
    const mongo = one(run, "cloudsync:infra:MongoNode", "mongo");
    expect(one(run, "docker:index/volume:Volume", "mongo-data").parent).toBe(mongo.urn);
    expect(one(run, "docker:index/container:Container", "mongo-mongod").parent).toBe(mongo.urn);
    expect(one(run, "docker:index/container:Container", "mongo-mongod").protect).toBe(false);
  });

  it("runs mongod as a keyfile-authenticated replica set bound to 127.0.0.1", () => {
    const c = one(run, "docker:index/container:Container", "mongo-mongod").inputs;
    expect(c.image).toBe("mongo:8.0.12");
    expect(c.command).toEqual(["mongod", "--replSet", "rs0", "--keyFile", "/run/secrets/mongo-keyfile", "--bind_ip_all", "--port", "27017"]);
    expect(c.ports).toEqual([{ internal: 27017, external: 27017, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(c.volumes).toEqual([
      { volumeName: "cloudsync-local-mongo-data", containerPath: "/data/db" },
      { volumeName: "cloudsync-local-mongo-config", containerPath: "/data/configdb" },
    ]);
    expect([c.restart, c.memory]).toEqual(["unless-stopped", 1024]);
    expect(c.labels).toEqual([{ label: "cloudsync.allow-public", value: "false" }]);
    for (const forbidden of ["publishAllPorts", "privileged", "networkMode", "entrypoints", "user"]) expect(c).not.toHaveProperty(forbidden);
    const hc = c.healthcheck as { tests: string[] };
    expect(hc.tests.slice(0, 5)).toEqual(["CMD", "mongosh", "--nodb", "--quiet", "--eval"]);
    expect(hc.tests[5]).toContain('replSetInitiate: {"_id":"rs0","members":[{"_id":0,"host":"localhost:27017"}]}');
  });

  it("keeps the root password and keyfile out of env and args: secret uploads only, owned by the image's mongodb user", () => {
    const r = one(run, "docker:index/container:Container", "mongo-mongod");
    expect(r.inputs.envs).toEqual(["MONGO_INITDB_ROOT_USERNAME=root", "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo-root-password"]);
    expect(JSON.stringify([r.inputs.envs, r.inputs.command, r.inputs.healthcheck])).not.toContain(SECRETS["cloudsync:mongoRootPassword"]);
    expect(r.secretInputs).toContain("uploads");
    expect(r.inputs.uploads).toEqual([
      { file: "/run/secrets/mongo-root-password", content: SECRETS["cloudsync:mongoRootPassword"], permissions: "0400", owner: "999", group: "999" },
      { file: "/run/secrets/mongo-keyfile", content: SECRETS["cloudsync:mongoKeyfile"], permissions: "0400", owner: "999", group: "999" },
    ]);
  });

  it("runs the agent from the repository's image, built for the Docker daemon's own platform, with a daily schedule, 7-day retention and the URI as a secret file", () => {
    const img = one(run, "docker:index/image:Image", "agent-image").inputs;
    expect(img).toEqual({ imageName: "cloudsync-agent:local", build: { context: ".", dockerfile: "./Dockerfile" }, skipPush: true, buildOnPreview: img.buildOnPreview });
    const a = one(run, "docker:index/container:Container", "agent-daemon");
    expect(a.inputs.envs).toEqual([
      "CLOUDSYNC_DESTINATION=file:///backups",
      "CLOUDSYNC_KEEP_WITHIN=7d",
      `CLOUDSYNC_RECIPIENTS=${RECIPIENT}`,
      "CLOUDSYNC_SCHEDULE=0 3 * * *",
      "CLOUDSYNC_STATE_DIR=/backups/.state",
      "CLOUD_SYNC_ENABLED=false",
      "CLOUD_SYNC_PROVIDER=none",
    ]);
    expect((a.inputs.command as string[]).at(-1)).toMatch(/exec node bin\/cloudsync\.js daemon$/);
    expect(a.inputs.volumes).toEqual([{ volumeName: "cloudsync-local-agent-backups", containerPath: "/backups" }]);
    expect(a.secretInputs).toContain("uploads");
    expect(a.inputs.uploads).toEqual([
      {
        file: "/run/secrets/env/MONGODB_URI",
        content: "mongodb://root:p%40ss%3Aw%2Frd-local-only@cloudsync-mongo:27017/?authSource=admin&directConnection=true&replicaSet=rs0",
        permissions: "0400",
        owner: "1000",
        group: "1000",
      },
    ]);
    expect(a.inputs.networksAdvanced).toEqual([{ name: "cloudsync-local-mongo-net" }]);
    for (const forbidden of ["ports", "privileged", "publishAllPorts", "networkMode"]) expect(a.inputs).not.toHaveProperty(forbidden);
  });

  it("exports the endpoints and volume names, no secret", () => {
    expect(run.outputs).toEqual({
      mongoEndpoint: "127.0.0.1:27017",
      mongoContainer: "cloudsync-mongo",
      mongoReplicaSet: "rs0",
      mongoDataVolume: "cloudsync-local-mongo-data",
      mongoConfigVolume: "cloudsync-local-mongo-config",
      mongoConnectionHint: "mongodb://root@127.0.0.1:27017/?authSource=admin&directConnection=true",
      agentContainer: "cloudsync-local-agent-daemon",
      backupsVolume: "cloudsync-local-agent-backups",
      backupSchedule: "0 3 * * *",
      backupRetentionDays: 7,
      cloudEnabled: false,
    });
    expect(run.secretOutputs).toEqual([]);
  });
});

describe("stack local wired to the cloud stack (mocked)", async () => {
  const refs = {
    "me/cloudsync/cloud": {
      agentCloudTarget: { provider: "backblaze", bucket: "cloudsync-backups-example", prefix: "backups/", endpoint: "https://s3.us-west-004.backblazeb2.com", region: "us-west-004" },
      runtimeAccessKeyId: "004runtimekeyid",
      runtimeSecretAccessKey: "K004runtimesecret",
    },
  };
  const run = await runMocked("local", { ...base(), "cloudsync:cloudStack": "me/cloudsync/cloud" }, Object.keys(SECRETS), local, refs);

  it("reads the cloud stack and gives the agent the cloud target as env and the runtime key as secret files", () => {
    expect(one(run, "pulumi:pulumi:StackReference", "cloud").inputs.name).toBe("me/cloudsync/cloud");
    const a = one(run, "docker:index/container:Container", "agent-daemon");
    expect(a.inputs.envs).toEqual([
      "AWS_REGION=us-west-004",
      "CLOUDSYNC_CLOUD_PREFIX=backups/",
      "CLOUDSYNC_DESTINATION=file:///backups",
      "CLOUDSYNC_KEEP_WITHIN=7d",
      `CLOUDSYNC_RECIPIENTS=${RECIPIENT}`,
      "CLOUDSYNC_S3_ENDPOINT=https://s3.us-west-004.backblazeb2.com",
      "CLOUDSYNC_SCHEDULE=0 3 * * *",
      "CLOUDSYNC_STATE_DIR=/backups/.state",
      "CLOUD_SYNC_BUCKET=cloudsync-backups-example",
      "CLOUD_SYNC_ENABLED=true",
      "CLOUD_SYNC_PROVIDER=backblaze",
    ]);
    expect(JSON.stringify(a.inputs.envs)).not.toContain("K004runtimesecret");
    expect((a.inputs.uploads as { file: string; content: string }[]).map((u) => [u.file, u.content.slice(0, 10)])).toEqual([
      ["/run/secrets/env/AWS_ACCESS_KEY_ID", "004runtime"],
      ["/run/secrets/env/AWS_SECRET_ACCESS_KEY", "K004runtim"],
      ["/run/secrets/env/MONGODB_URI", "mongodb://"],
    ]);
    expect(run.outputs.cloudEnabled).toBe(true);
  });
});

describe("stack local-laptop: a second local environment, agent platform set (mocked)", async () => {
  const run = await runMocked("local-laptop", { ...base(), "cloudsync:agentPlatform": "linux/arm64" }, Object.keys(SECRETS), local);

  it("builds the agent image for the configured platform", () => {
    expect(one(run, "docker:index/image:Image", "agent-image").inputs.build).toEqual({ context: ".", dockerfile: "./Dockerfile", platform: "linux/arm64" });
  });

  it("names every Docker object after this stack, so it never adopts the other local stack's volumes", () => {
    expect(run.resources.filter((r) => r.type.startsWith("docker:index/") && r.type !== "docker:index/image:Image").map((r) => r.inputs.name).sort()).toEqual(
      ["cloudsync-local-laptop-agent-backups", "cloudsync-local-laptop-agent-daemon", "cloudsync-mongo", "cloudsync-local-laptop-mongo-config", "cloudsync-local-laptop-mongo-data", "cloudsync-local-laptop-mongo-net"].sort(),
    );
  });
});

describe("stack local: agent platform validation (mocked)", () => {
  it("refuses a platform Docker does not know, naming the key", async () => {
    await expect(runMocked("local", { ...base(), "cloudsync:agentPlatform": "amd64" }, Object.keys(SECRETS), local)).rejects.toThrow(
      'cloudsync:agentPlatform: invalid value "amd64"; expected a Docker platform such as linux/amd64 or linux/arm64 (unset: the Docker daemon\'s own)',
    );
  });
});
