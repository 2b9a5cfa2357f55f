/**
 * `pulumi preview` of the stacks under a real Pulumi engine built by scripts/build-pulumi.sh
 * (.cache/pulumi/<version>/bin, keyed by the installed @pulumi/pulumi), with a file:// backend,
 * the passphrase secrets provider, and the policy pack loaded for real through --policy-pack.
 *
 * The policy pack is given to --policy-pack as a launcher (an executable the engine starts as a
 * binary analyzer plugin, passing its own address) that runs the SDK's own
 * `@pulumi/pulumi/cmd/run-policy-pack` in policy/, exactly as the Node.js language host's
 * RunPlugin would: the only language host the Go module proxy lets us build (sdk/v3 v3.68.0, see
 * scripts/build-pulumi.sh) predates RunPlugin and answers "not supported" for a pack directory.
 * The pack then loads from policy/package.json, as it does for `--policy-pack policy`.
 * Each stack runs in a scratch project directory (Pulumi.yaml and the stack's config copied,
 * dist/, node_modules/ and package.json linked) so `pulumi stack init` and `config set` never
 * write into the repository. Plugins are never downloaded: a stack whose providers the engine
 * build could not make is skipped, naming them.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";

const version = (JSON.parse(readFileSync(path.join(repoRoot, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string }).version;
const engine = path.join(repoRoot, ".cache/pulumi", version);
const bin = path.join(engine, "bin");
const missing = ["pulumi", "pulumi-language-nodejs"].filter((b) => !existsSync(path.join(bin, b)));
const skip =
  missing.length > 0
    ? `the real Pulumi engine is not built: ${missing.map((b) => `.cache/pulumi/${version}/bin/${b}`).join(", ")} missing (scripts/build-pulumi.sh; the Go module proxy serves no Node.js language host module, see docs/INFRA.md)`
    : !existsSync(path.join(repoRoot, "dist/index.js"))
      ? "dist/index.js is missing; run `npm run build` first"
      : undefined;
if (skip) console.warn(`real-engine preview tests skipped: ${skip}`);

/** Provider plugins installed into the engine's PULUMI_HOME (`resource-<name>-v<version>` directories). */
function hasPlugin(name: string): boolean {
  const pkg = path.join(repoRoot, "node_modules/@pulumi", name, "package.json");
  const wanted = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, "utf8")) as { pulumi?: { version?: string } }).pulumi?.version : undefined;
  return wanted !== undefined && existsSync(path.join(engine, "home/plugins", `resource-${name}-v${wanted}`));
}
const needs = (plugins: string[]): string | undefined => {
  const absent = plugins.filter((p) => !hasPlugin(p));
  return absent.length > 0 ? `provider plugin(s) ${absent.join(", ")} not built (not served by the Go module proxy)` : undefined;
};

/** A scratch project for one stack, and the CLI run inside it. */
function project(stack: string): { policyPack: string; pulumi(args: string[]): { status: number | null; out: string }; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `cs-engine-${stack}-`));
  mkdirSync(path.join(dir, ".state"));
  copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  copyFileSync(path.join(repoRoot, `Pulumi.${stack.split("-")[0]}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
  for (const link of ["dist", "node_modules", "package.json"]) symlinkSync(path.join(repoRoot, link), path.join(dir, link));
  const policyDir = path.join(repoRoot, "policy");
  const policyPack = path.join(dir, "policy-pack");
  const runPolicyPack = path.join(repoRoot, "node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  writeFileSync(policyPack, `#!/bin/sh\ncd '${policyDir}' && exec '${process.execPath}' '${runPolicyPack}' "$@" '${policyDir}'\n`, { mode: 0o755 });
  const env = {
    ...process.env,
    // The engine, the dynamic-provider shim @pulumi/pulumi ships, and this test's node.
    PATH: [bin, path.join(repoRoot, "node_modules/@pulumi/pulumi"), path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter),
    PULUMI_HOME: path.join(engine, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
    PULUMI_CONFIG_PASSPHRASE: "cloudsync engine test passphrase",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  return {
    policyPack,
    pulumi: (args) => {
      const r = spawnSync(path.join(bin, "pulumi"), [...args, "--non-interactive", "--cwd", dir], { env, encoding: "utf8", timeout: 300_000 });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}


/** Runs each command in turn, expecting exit 0 (the CLI's output is the failure message); returns the last output. */
function allOk(p: ReturnType<typeof project>, steps: string[][]): string {
  let out = "";
  for (const args of steps) {
    const r = p.pulumi(args);
    expect(r.status, r.out).toBe(0);
    out = r.out;
  }
  return out;
}

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
