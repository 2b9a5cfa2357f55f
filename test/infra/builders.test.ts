import { describe, expect, it } from "vitest";
import { agentCommand, agentEnvironment } from "../../infra/agent-container.js";
import { withCredentials } from "../../infra/atlas-cluster.js";
import { b2RuntimeKeySpec } from "../../infra/b2-key.js";
import { b2EndpointSettings } from "../../infra/b2-endpoint.js";
import { DENIED_ACTIONS, runtimePolicyDocument } from "../../infra/iam-policy.js";
import { fromS3ApiRules, lifecycleRules, toS3ApiRules } from "../../infra/lifecycle.js";
import { agentMongoUri, mongodCommand, replicaSetProbeScript } from "../../infra/mongo-container.js";
import { contentHash } from "../../infra/metadata-server.js";

describe("pure builders", () => {
  it("lifecycle: exact S3 API shape, and days < 1 refused", () => {
    expect(toS3ApiRules(lifecycleRules({ prefix: "b/", retentionDays: 7, noncurrentDays: 3 }))).toEqual([
      { ID: "expire-current-backups", Status: "Enabled", Filter: { Prefix: "b/" }, Expiration: { Days: 7 } },
      { ID: "expire-noncurrent-versions", Status: "Enabled", Filter: { Prefix: "b/" }, NoncurrentVersionExpiration: { NoncurrentDays: 3 } },
      { ID: "abort-incomplete-multipart", Status: "Enabled", Filter: { Prefix: "" }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    ]);
    expect(() => lifecycleRules({ prefix: "b/", retentionDays: 0, noncurrentDays: 3 })).toThrow("lifecycle retentionDays: must be a whole number ≥ 1, got 0");
    expect(() => lifecycleRules({ prefix: "b/", retentionDays: 1, noncurrentDays: 1.5 })).toThrow("lifecycle noncurrentDays: must be a whole number ≥ 1, got 1.5");
  });

  it("lifecycle: read back from a server's rules in any order; a missing or disabled rule reads as 0 days", () => {
    const written = toS3ApiRules(lifecycleRules({ prefix: "b/", retentionDays: 7, noncurrentDays: 3 }));
    expect(fromS3ApiRules([...written].reverse())).toEqual({ prefix: "b/", retentionDays: 7, noncurrentDays: 3 });
    expect(fromS3ApiRules([{ ID: "expire-current-backups", Status: "Enabled", Prefix: "legacy/", Expiration: { Days: 5 } }])).toEqual({ prefix: "legacy/", retentionDays: 5, noncurrentDays: 0 });
    expect(fromS3ApiRules([{ ...written[0]!, Status: "Disabled" }, written[1]!])).toEqual({ prefix: "", retentionDays: 0, noncurrentDays: 3 });
  });

  it("IAM: never allows a denied action, never allows s3:DeleteObject, refuses a prefix without /", () => {
    const doc = runtimePolicyDocument({ bucket: "b", prefix: "p/", partition: "aws-us-gov" });
    const allowed = doc.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => s.Action);
    expect(allowed.filter((a) => (DENIED_ACTIONS as readonly string[]).includes(a) || a === "s3:DeleteObject" || a.includes("*"))).toEqual([]);
    expect(doc.Statement.at(-1)?.Resource).toEqual(["arn:aws-us-gov:s3:::b", "arn:aws-us-gov:s3:::b/*"]);
    expect(() => runtimePolicyDocument({ bucket: "b", prefix: "p" })).toThrow('runtime policy prefix: must end in "/", got "p"');
  });

  it("B2 key: capabilities, pasteable command, unsafe names refused", () => {
    expect(b2RuntimeKeySpec({ bucket: "bk", namePrefix: "x/", keyName: "k", stack: "cloud" })).toEqual({
      keyName: "k",
      bucket: "bk",
      namePrefix: "x/",
      capabilities: ["listAllBucketNames", "listFiles", "readFiles", "writeFiles"],
      command: "b2 key create --bucket bk --name-prefix x/ k listAllBucketNames,listFiles,readFiles,writeFiles",
      storeCommands: ["pulumi config set --secret -s cloud cloudsync:b2RuntimeKeyId <applicationKeyId>", "pulumi config set --secret -s cloud cloudsync:b2RuntimeKey <applicationKey>"],
    });
    expect(() => b2RuntimeKeySpec({ bucket: "bk; rm -rf /", namePrefix: "x/" })).toThrow('b2 key bucket: only letters, digits and ._/- are allowed, got "bk; rm -rf /"');
  });

  it("mongo: probe script reads the password from its file, initiates only on code 94", () => {
    const s = replicaSetProbeScript({ replSet: "rs0", user: "root" });
    expect(s).toBe(
      'const pw = require("fs").readFileSync("/run/secrets/mongo-root-password", "utf8").trim(); const admin = new Mongo("mongodb://127.0.0.1:27017/?directConnection=true").getDB("admin"); admin.auth("root", pw); let s; try { s = admin.runCommand({ replSetGetStatus: 1 }); } catch (e) { s = e; } if (s.ok === 1) quit(0); if (s.code === 94) admin.runCommand({ replSetInitiate: {"_id":"rs0","members":[{"_id":0,"host":"localhost:27017"}]} }); quit(1);',
    );
    expect(() => mongodCommand("rs 0")).toThrow('mongod replSet: invalid name "rs 0"');
    expect(agentMongoUri({ host: "m", user: "u@x", password: "a/b:c@d", replSet: "rs0" })).toBe("mongodb://u%40x:a%2Fb%3Ac%40d@m:27017/?authSource=admin&directConnection=true&replicaSet=rs0");
  });

  it("agent: env sorted with no secret names, command execs the daemon as PID 1", () => {
    const env = agentEnvironment({ schedule: "0 3 * * *", retentionDays: 7, recipients: ["age1a", "age1b"], backupsDir: "/backups", cloud: { provider: "s3", bucket: "b", prefix: "p/", region: "eu-west-1" } });
    expect(env).toEqual([
      "AWS_REGION=eu-west-1",
      "CLOUDSYNC_CLOUD_PREFIX=p/",
      "CLOUDSYNC_DESTINATION=file:///backups",
      "CLOUDSYNC_KEEP_WITHIN=7d",
      "CLOUDSYNC_RECIPIENTS=age1a,age1b",
      "CLOUDSYNC_SCHEDULE=0 3 * * *",
      "CLOUDSYNC_STATE_DIR=/backups/.state",
      "CLOUD_SYNC_BUCKET=b",
      "CLOUD_SYNC_ENABLED=true",
      "CLOUD_SYNC_PROVIDER=s3",
    ]);
    expect(agentCommand()).toEqual([
      "/bin/sh",
      "-c",
      'for f in /run/secrets/env/*; do [ -f "$f" ] || continue; n=$(basename "$f"); export "$n=$(cat "$f")"; done; exec node bin/cloudsync.js daemon',
    ]);
  });

  it("atlas and b2 helpers", () => {
    expect(withCredentials("mongodb+srv://c.x.mongodb.net", "u", "p/w")).toBe("mongodb+srv://u:p%2Fw@c.x.mongodb.net");
    expect(() => withCredentials("mongodb://h", "u", "p")).toThrow("atlas connection string: expected mongodb+srv://");
    expect(b2EndpointSettings("https://s3.eu-central-003.backblazeb2.com")).toEqual({ region: "eu-central-003", forcePathStyle: false });
    expect(b2EndpointSettings("https://s3.eu-central-003.backblazeb2.com", "eu-central-003")).toEqual({ region: "eu-central-003", forcePathStyle: false });
    expect(() => b2EndpointSettings("https://s3.eu-central-003.backblazeb2.com", "us-east-1")).toThrow(
      'b2 endpoint https://s3.eu-central-003.backblazeb2.com signs for region eu-central-003, not "us-east-1"; remove cloudsync:b2Region or set it to eu-central-003',
    );
    expect(b2EndpointSettings("http://127.0.0.1:7480")).toEqual({ region: "us-east-1", forcePathStyle: true });
    expect(b2EndpointSettings("https://localhost", "eu-west-2")).toEqual({ region: "eu-west-2", forcePathStyle: true });
    expect(b2EndpointSettings("http://[::1]:9000").region).toBe("us-east-1");
    for (const bad of ["https://example.com", "http://s3.us-west-004.backblazeb2.com", "http://127.0.0.2:7480", "http://localhost.example.com", "http://127.0.0.1:7480/path"]) {
      expect(() => b2EndpointSettings(bad)).toThrow(
        `b2 endpoint: expected https://s3.<region>.backblazeb2.com, or http(s)://127.0.0.1, [::1] or localhost with an optional port for a local S3-compatible server for testing; got ${JSON.stringify(bad)}`,
      );
    }
    expect(contentHash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
