/**
 * `pulumi preview` of the stacks under a real Pulumi engine (test/infra/engine.ts: the engine
 * built by scripts/build-pulumi.sh, a scratch project per stack, a file:// backend, the
 * passphrase secrets provider) with the policy pack loaded for real through --policy-pack. A
 * stack whose providers the engine build could not make is skipped, naming them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allOk, engineSkip as skip, needs, project } from "./engine.js";

if (skip) console.warn(`real-engine preview tests skipped: ${skip}`);

describe.skipIf(skip !== undefined)(`pulumi preview under the real engine with --policy-pack policy${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const projects: { cleanup(): void }[] = [];
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("cloud (backblaze, no metadata server): the shipped config passes every mandatory policy; bucketEncryption none fails with the rule's message", { timeout: 600_000 }, () => {
    const p = project("cloud");
    projects.push(p);
    const pass = allOk(p, [
      ["stack", "init", "cloud", "--secrets-provider", "passphrase"],
      ["config", "set", "--secret", "cloudsync:b2AdminKeyId", "0041234567890ab0000000001", "-s", "cloud"],
      ["config", "set", "--secret", "cloudsync:b2AdminKey", "K004adminadminadminadminadminadm", "-s", "cloud"],
      ["config", "set", "cloudsync:metadataEnabled", "false", "-s", "cloud"],
      ["preview", "-s", "cloud", "--policy-pack", p.policyPack],
    ]);
    expect(pass).toContain("✅ cloudsync@v0.1.0");
    expect(pass).toContain("+ 3 to create");
    expect(pass).not.toContain("can't run");

    allOk(p, [["config", "set", "cloudsync:bucketEncryption", "none", "-s", "cloud"]]);
    const fail = p.pulumi(["preview", "-s", "cloud", "--policy-pack", p.policyPack]);
    expect(fail.status, fail.out).not.toBe(0);
    expect(fail.out).toContain("bucket-encryption-enabled");
    expect(fail.out).toContain('bucket backups-bucket has encryption "none", not AES256');
  });

  const localSkip = needs(["docker"]);
  it.skipIf(localSkip !== undefined)(`local: the shipped config passes every mandatory policy${localSkip ? ` (skipped: ${localSkip})` : ""}`, { timeout: 600_000 }, () => {
    const p = project("local");
    projects.push(p);
    allOk(p, [
      ["stack", "init", "local", "--secrets-provider", "passphrase"],
      ["config", "set", "cloudsync:backupRecipients", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", "-s", "local"],
      ["config", "set", "--secret", "cloudsync:mongoRootPassword", "engine-test-password", "-s", "local"],
      ["config", "set", "--secret", "cloudsync:mongoKeyfile", "a2V5ZmlsZWtleWZpbGVrZXlmaWxl", "-s", "local"],
      ["preview", "-s", "local", "--policy-pack", p.policyPack],
    ]);
  });

  const atlasSkip = needs(["mongodbatlas", "random"]);
  it.skipIf(atlasSkip !== undefined)(`atlas: the shipped config passes every mandatory policy${atlasSkip ? ` (skipped: ${atlasSkip})` : ""}`, { timeout: 600_000 }, () => {
    const p = project("atlas");
    projects.push(p);
    allOk(p, [
      ["stack", "init", "atlas", "--secrets-provider", "passphrase"],
      ["config", "set", "cloudsync:atlasOrgId", "0123456789abcdef01234567", "-s", "atlas"],
      ["config", "set", "cloudsync:accessList", "203.0.113.7/32", "-s", "atlas"],
      ["preview", "-s", "atlas", "--policy-pack", p.policyPack],
    ]);
  });
});
