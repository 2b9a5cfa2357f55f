import { describe, expect, it } from "vitest";
import { cronProblem, readConfig, StackConfigError } from "../../infra/config.js";
import { ConfigError } from "../../runtime/src/errors.js";
import { atlas } from "../../stacks/atlas.js";
import { cloud } from "../../stacks/cloud.js";
import { local } from "../../stacks/local.js";
import { atlasCross, atlasSchema, cloudCross, cloudSchema, localCross, localSchema } from "../../stacks/schemas.js";
import { runMocked, stackYaml } from "./harness.js";

const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const localSecrets = ["cloudsync:mongoRootPassword", "cloudsync:mongoKeyfile"];
const localValues = (over: Record<string, string> = {}): Record<string, string> => ({
  ...stackYaml("local"),
  "cloudsync:backupRecipients": RECIPIENT,
  "cloudsync:mongoRootPassword": "pw",
  "cloudsync:mongoKeyfile": "a2V5ZmlsZQ==",
  ...over,
});
const raw = (values: Record<string, string>, secrets: string[] = localSecrets) => ({ values, secretKeys: new Set(secrets) });

function issuesOf(f: () => unknown): { key: string; message: string }[] {
  try {
    f();
  } catch (e) {
    if (e instanceof StackConfigError) return [...e.issues];
    throw e;
  }
  throw new Error("no error thrown");
}

describe("config reader", () => {
  it("accepts every committed Pulumi.<stack>.yaml plus the documented required values", () => {
    expect(readConfig("cloudsync", localSchema, raw(localValues()), localCross).backupRetentionDays).toBe(7);
    const c = readConfig("cloudsync", cloudSchema, raw({ ...stackYaml("cloud"), "cloudsync:b2AdminKeyId": "a", "cloudsync:b2AdminKey": "b", "cloudsync:sshPrivateKey": "k", "cloudsync:metadataApiKey": "0123456789abcdef0123456789abcdef" }, ["cloudsync:b2AdminKeyId", "cloudsync:b2AdminKey", "cloudsync:sshPrivateKey", "cloudsync:metadataApiKey"]), cloudCross);
    expect([c.provider, c.retentionDays, c.noncurrentDays, c.objectLockDays, c.bucketPrefix]).toEqual(["backblaze", 30, 30, 0, "backups/"]);
    const a = readConfig("cloudsync", atlasSchema, raw({ ...stackYaml("atlas"), "cloudsync:atlasOrgId": "0123456789abcdef01234567", "cloudsync:accessList": "203.0.113.7/32" }), atlasCross);
    expect([a.instanceSize, a.accessList]).toEqual(["M10", ["203.0.113.7/32"]]);
  });

  it("returns a frozen object with defaults applied", () => {
    const c = readConfig("cloudsync", localSchema, raw({ "cloudsync:backupRecipients": RECIPIENT, "cloudsync:mongoRootPassword": "pw", "cloudsync:mongoKeyfile": "a2V5ZmlsZQ==" }), localCross);
    expect(Object.isFrozen(c)).toBe(true);
    expect([c.mongoBindAddress, c.mongoPort, c.backupSchedule, c.mongoImage, c.mongoAllowPublic]).toEqual(["127.0.0.1", 27017, "0 3 * * *", "mongo:8.0.12", false]);
  });

  it("collects every problem at once, each naming its key", () => {
    const issues = issuesOf(() =>
      readConfig(
        "cloudsync",
        cloudSchema,
        raw({ "cloudsync:provider": "gcs", "cloudsync:bucketName": "ok-bucket", "cloudsync:retentionDays": "0", "cloudsync:noncurrentDays": "x", "cloudsync:metadataEnabled": "false", "cloudsync:retentionDay": "3" }, []),
        cloudCross,
      ),
    );
    expect(issues).toEqual([
      { key: "cloudsync:provider", message: 'unknown value "gcs"; expected one of aws, backblaze' },
      { key: "cloudsync:retentionDays", message: "must be ≥ 1, got 0" },
      { key: "cloudsync:noncurrentDays", message: 'must be a whole number, got "x"' },
      { key: "cloudsync:retentionDay", message: "unknown key for this stack (remove it with `pulumi config rm cloudsync:retentionDay`)" },
    ]);
  });

  it("throws a ConfigError whose field is the first key and whose message lists all", () => {
    let err: unknown;
    try {
      readConfig("cloudsync", localSchema, raw(localValues({ "cloudsync:backupSchedule": "0 25 * * *", "cloudsync:backupRetentionDays": "0" })), localCross);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe("cloudsync:backupSchedule");
    expect((err as Error).message).toBe(
      'cloudsync:backupSchedule: 2 problems\n  cloudsync:backupSchedule: malformed cron expression "0 25 * * *": hour field "25" is outside 0-23\n  cloudsync:backupRetentionDays: must be ≥ 1, got 0',
    );
  });

  it("names a missing required secret, and a secret stored in plain text", () => {
    const values = localValues();
    delete values["cloudsync:mongoKeyfile"];
    expect(issuesOf(() => readConfig("cloudsync", localSchema, raw(values, ["cloudsync:mongoRootPassword"]), localCross))).toEqual([
      { key: "cloudsync:mongoKeyfile", message: "required secret is not set; set it with `pulumi config set --secret <key> <value>`" },
    ]);
    expect(issuesOf(() => readConfig("cloudsync", localSchema, raw(localValues(), ["cloudsync:mongoKeyfile"]), localCross))).toEqual([
      { key: "cloudsync:mongoRootPassword", message: "must be stored as a secret; run `pulumi config set --secret` for it (and rotate the value: it was in plain text)" },
    ]);
  });

  it("checks a secret's shape without ever echoing it", () => {
    const issues = issuesOf(() => readConfig("cloudsync", localSchema, raw(localValues({ "cloudsync:mongoKeyfile": "not base64 !!" })), localCross));
    expect(issues).toEqual([{ key: "cloudsync:mongoKeyfile", message: "the secret value is malformed; expected 6–1024 base64 characters (openssl rand -base64 756) (value not shown)" }]);
    expect(JSON.stringify(issues)).not.toContain("not base64");
  });

  it("refuses a provider key stored in plain text", () => {
    const values = { "cloudsync:atlasOrgId": "0123456789abcdef01234567", "cloudsync:accessList": "203.0.113.7/32", "mongodbatlas:privateKey": "abc" };
    expect(issuesOf(() => readConfig("cloudsync", atlasSchema, raw(values, []), atlasCross))[0]?.key).toBe("mongodbatlas:privateKey");
    expect(readConfig("cloudsync", atlasSchema, raw(values, ["mongodbatlas:privateKey"]), atlasCross).dbUser).toBe("cloudsync");
  });

  it("refuses a public bind address unless explicitly allowed", () => {
    expect(issuesOf(() => readConfig("cloudsync", localSchema, raw(localValues({ "cloudsync:mongoBindAddress": "0.0.0.0" })), localCross))).toEqual([
      { key: "cloudsync:mongoBindAddress", message: "binding MongoDB to 0.0.0.0 exposes it beyond this machine; keep 127.0.0.1 or set cloudsync:mongoAllowPublic true" },
    ]);
    expect(readConfig("cloudsync", localSchema, raw(localValues({ "cloudsync:mongoBindAddress": "0.0.0.0", "cloudsync:mongoAllowPublic": "true" })), localCross).mongoBindAddress).toBe("0.0.0.0");
  });

  it("names provider-dependent requirements, including another namespace's key", () => {
    const issues = issuesOf(() =>
      readConfig("cloudsync", cloudSchema, raw({ "cloudsync:provider": "aws", "cloudsync:bucketName": "ok-bucket", "cloudsync:metadataEnabled": "true", "cloudsync:metadataHost": "h.example" }, []), cloudCross),
    );
    expect(issues.map((i) => i.key)).toEqual(["aws:region", "cloudsync:metadataDomain", "cloudsync:sshPrivateKey", "cloudsync:metadataApiKey"]);
    const b2 = issuesOf(() => readConfig("cloudsync", cloudSchema, raw({ "cloudsync:provider": "backblaze", "cloudsync:bucketName": "ok-bucket", "cloudsync:metadataEnabled": "false" }, []), cloudCross));
    expect(b2.map((i) => i.key)).toEqual(["cloudsync:b2Endpoint", "cloudsync:b2AdminKeyId", "cloudsync:b2AdminKey"]);
  });

  it("takes a B2 endpoint or a loopback test server, with b2Region only where it does not contradict the endpoint", () => {
    const b2 = (over: Record<string, string>) =>
      readConfig("cloudsync", cloudSchema, raw({ "cloudsync:provider": "backblaze", "cloudsync:bucketName": "ok-bucket", "cloudsync:metadataEnabled": "false", "cloudsync:b2AdminKeyId": "a", "cloudsync:b2AdminKey": "b", ...over }, ["cloudsync:b2AdminKeyId", "cloudsync:b2AdminKey"]), cloudCross);
    for (const endpoint of ["https://s3.us-west-004.backblazeb2.com", "http://127.0.0.1:7480", "https://localhost", "http://[::1]:9000"]) {
      expect(b2({ "cloudsync:b2Endpoint": endpoint }).b2Endpoint).toBe(endpoint);
    }
    expect(b2({ "cloudsync:b2Endpoint": "http://127.0.0.1:7480", "cloudsync:b2Region": "eu-west-2" }).b2Region).toBe("eu-west-2");
    expect(b2({ "cloudsync:b2Endpoint": "https://s3.us-west-004.backblazeb2.com", "cloudsync:b2Region": "us-west-004" }).b2Region).toBe("us-west-004");
    const hint = "https://s3.<region>.backblazeb2.com, or for a local S3-compatible server for testing http(s)://127.0.0.1, [::1] or localhost with an optional port";
    for (const endpoint of ["https://s3.example.com", "http://s3.us-west-004.backblazeb2.com", "http://10.0.0.5:7480", "http://localhost.evil.example", "http://127.0.0.1:7480/bucket"]) {
      expect(issuesOf(() => b2({ "cloudsync:b2Endpoint": endpoint }))).toEqual([{ key: "cloudsync:b2Endpoint", message: `invalid value ${JSON.stringify(endpoint)}; expected ${hint}` }]);
    }
    expect(issuesOf(() => b2({ "cloudsync:b2Endpoint": "https://s3.us-west-004.backblazeb2.com", "cloudsync:b2Region": "us-east-1" }))).toEqual([
      { key: "cloudsync:b2Region", message: 'b2 endpoint https://s3.us-west-004.backblazeb2.com signs for region us-west-004, not "us-east-1"; remove cloudsync:b2Region or set it to us-west-004' },
    ]);
    expect(issuesOf(() => b2({ "cloudsync:b2Endpoint": "http://127.0.0.1:7480", "cloudsync:b2Region": "US East" }))).toEqual([
      { key: "cloudsync:b2Region", message: 'invalid value "US East"; expected a region name such as us-east-1 (unset: the B2 endpoint\'s own, or us-east-1 for a loopback endpoint)' },
    ]);
  });

  it("refuses an open Atlas access list unless allowed, and malformed CIDRs and recipients", () => {
    const base = { "cloudsync:atlasOrgId": "0123456789abcdef01234567" };
    expect(issuesOf(() => readConfig("cloudsync", atlasSchema, raw({ ...base, "cloudsync:accessList": "0.0.0.0/0" }), atlasCross))[0]?.key).toBe("cloudsync:accessList");
    expect(issuesOf(() => readConfig("cloudsync", atlasSchema, raw({ ...base, "cloudsync:accessList": "203.0.113.7" }), atlasCross))).toEqual([
      { key: "cloudsync:accessList", message: 'invalid item(s) "203.0.113.7"; expected CIDR blocks such as 203.0.113.7/32, comma-separated' },
    ]);
    expect(issuesOf(() => readConfig("cloudsync", localSchema, raw(localValues({ "cloudsync:backupRecipients": "age1short" })), localCross))[0]?.key).toBe("cloudsync:backupRecipients");
  });

  it("checks cron expressions field by field", () => {
    expect(cronProblem("0 3 * * *")).toBeUndefined();
    expect(cronProblem("*/15 0-6 1,15 * 1-5")).toBeUndefined();
    expect(cronProblem("0 3 * *")).toBe("expected 5 fields (minute hour day-of-month month day-of-week), got 4");
    expect(cronProblem("60 3 * * *")).toBe('minute field "60" is outside 0-59');
    expect(cronProblem("0 3 * * MON")).toBe('day of week field "MON" is not a number, range, list or step');
    expect(cronProblem("*/0 3 * * *")).toBe("minute step must be ≥ 1");
  });
});

describe("stacks fail at start-up on invalid config, naming the key", () => {
  it("local: malformed cron", async () => {
    await expect(runMocked("local", localValues({ "cloudsync:backupSchedule": "daily" }), localSecrets, local)).rejects.toThrow(
      'cloudsync:backupSchedule: malformed cron expression "daily": expected 5 fields (minute hour day-of-month month day-of-week), got 1',
    );
  });
  it("cloud: unknown provider", async () => {
    await expect(runMocked("cloud", { ...stackYaml("cloud"), "cloudsync:provider": "dropbox", "cloudsync:metadataEnabled": "false" }, [], () => cloud())).rejects.toThrow(
      'cloudsync:provider: unknown value "dropbox"; expected one of aws, backblaze',
    );
  });
  it("cloud: retention below one day", async () => {
    await expect(runMocked("cloud", { ...stackYaml("cloud"), "cloudsync:retentionDays": "0", "cloudsync:metadataEnabled": "false" }, [], () => cloud())).rejects.toThrow("cloudsync:retentionDays: must be ≥ 1, got 0");
  });
  it("atlas: missing required keys", async () => {
    await expect(runMocked("atlas", stackYaml("atlas"), [], atlas)).rejects.toThrow(
      "cloudsync:atlasOrgId: 2 problems\n  cloudsync:atlasOrgId: required; set it with `pulumi config set <key> <value>`\n  cloudsync:accessList: required; set it with `pulumi config set <key> <value>`",
    );
  });
});
