import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, CLI_SKIP, FIXTURES, FIXTURES_SKIP, REPO, runCli } from "../support/cli.js";
import { createTestBucket, deleteTestBucket, s3SkipReason } from "../support/s3-service.js";

const SCRIPTS = ["sync-to-cloud.sh", "restore-from-cloud.sh", "encrypt-backup.sh"] as const;

/** Runs `bash scripts/<name> args…` with the compiled CLI as CLOUDSYNC_BIN. */
function script(name: string, args: string[], env: Record<string, string> = {}, input?: Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(REPO, "scripts", name), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", CLOUDSYNC_BIN: CLI, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function hasShellcheck(): Promise<boolean> {
  try {
    await promisify(execFile)("shellcheck", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

const shellcheck = await hasShellcheck();
if (!shellcheck) console.warn("skipping the shellcheck test: shellcheck is not installed (apt-get install shellcheck)");
describe.skipIf(!shellcheck)("scripts are shellcheck-clean", () => {
  it.each(SCRIPTS)("%s", async (name) => {
    const r = await promisify(execFile)("shellcheck", ["--severity=style", join(REPO, "scripts", name)]).catch((err: { stdout: string; code: number }) => ({ stdout: err.stdout, code: err.code }));
    expect(r.stdout).toBe("");
  });
});

describe("scripts: usage", () => {
  it.each(SCRIPTS)("%s -h prints usage and exits 0; a wrong call exits 2 with usage on stderr", async (name) => {
    const help = await script(name, ["-h"]);
    expect(help.code).toBe(0);
    expect(help.stdout.startsWith(`usage: scripts/${name}`)).toBe(true);
    const text = readFileSync(join(REPO, "scripts", name), "utf8");
    expect(text).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(text).toContain("\nset -euo pipefail\n");
    const wrong = await script(name, ["-Z"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`${name}: unknown option -Z\nusage: scripts/${name}`);
  });
  it("sync-to-cloud.sh and restore-from-cloud.sh need a destination", async () => {
    expect(await script("sync-to-cloud.sh", ["x.archive"])).toEqual({ code: 2, stdout: "", stderr: "sync-to-cloud.sh: no destination: pass -t s3://bucket/prefix or set CLOUDSYNC_CLOUD_DESTINATION\n" });
    expect(await script("restore-from-cloud.sh", ["dir:///tmp/x"])).toEqual({ code: 2, stdout: "", stderr: "restore-from-cloud.sh: no destination: pass -f s3://bucket/prefix or set CLOUDSYNC_CLOUD_DESTINATION\n" });
    expect(await script("sync-to-cloud.sh", ["-t", "/tmp/nowhere"])).toEqual({ code: 2, stdout: "", stderr: "sync-to-cloud.sh: no ARCHIVE given and MONGODB_URI is not set\n" });
  });
});

const skip = CLI_SKIP ?? FIXTURES_SKIP;
if (skip) console.warn(`skipping the scripts-over-the-CLI tests: ${skip}`);
describe.skipIf(!!skip)("scripts drive the compiled CLI", () => {
  const archive = join(FIXTURES, "test.bar.archive");
  let work: string;
  let identity: string;
  let recipient: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-scripts-"));
    identity = join(work, "identity.txt");
    recipient = (await runCli(["keys", "new", "--out", identity, "--json"])).json<{ recipient: string }>().recipient;
  });

  /** Runs the three scripts against `dest` (a local dir or an S3 URL) with `env`. */
  async function roundTrip(dest: string, env: Record<string, string>): Promise<void> {
    const enc = await script("encrypt-backup.sh", ["-r", recipient, "-t", dest, archive], env);
    expect(enc.code, enc.stderr).toBe(0);
    expect(enc.stdout).toMatch(/^backup \S+ stored in /);

    const sync = await script("sync-to-cloud.sh", ["-"], { ...env, CLOUDSYNC_CLOUD_DESTINATION: dest, CLOUDSYNC_RECIPIENTS: recipient }, readFileSync(archive));
    expect(sync.code, sync.stderr).toBe(0);
    const listed = await runCli(["list", "--from", dest, "--json"], { env });
    const ids = listed.json<Array<{ id: string }>>().map((e) => e.id);
    const made = [enc.stdout, sync.stdout].map((out) => /^backup (\S+) stored in /.exec(out)?.[1]);
    // Both may start in the same second; then the random suffix orders them, so compare as sets.
    expect([...ids].sort()).toEqual([...made].sort());

    const target = join(work, `restored-${ids[0]}`);
    const r = await script("restore-from-cloud.sh", ["-f", dest, "-i", identity, `dir://${target}`], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored ${ids[0]} to ${target}`);
    expect(readdirSync(join(target, "test"))).toContain("bar.bson");

    // cloudsync's exit codes come through: 3 for an unknown id, 4 for a damaged archive.
    const missing = await script("restore-from-cloud.sh", ["-f", dest, "-i", identity, `dir://${target}-x`, "19990101T000000Z-000000"], env);
    expect(missing.code).toBe(3);
    const damaged = await script("encrypt-backup.sh", ["-r", recipient, "-t", dest, join(FIXTURES, "bad-format.archive")], env);
    expect(damaged.code).toBe(4);
  }

  it("sync-to-cloud.sh without ARCHIVE streams mongodump (a stand-in here: mongodump is not installed); a failed mongodump fails the run", async () => {
    const bin = mkdtempSync(join(tmpdir(), "cloudsync-fake-mongodump-"));
    const fake = (body: string): void => writeFileSync(join(bin, "mongodump"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, MONGODB_URI: "mongodb://127.0.0.1:9/x", CLOUDSYNC_RECIPIENTS: recipient };
    const dest = join(work, "streamed");
    fake(`[ "$1 $2 $3 $4" = "--uri mongodb://127.0.0.1:9/x --archive --quiet" ] || exit 9\nexec cat "${archive}"`);
    const ok = await script("sync-to-cloud.sh", ["-t", dest], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^backup \S+ stored in /);
    // Part of an archive, then mongodump fails: cloudsync refuses the truncated archive, and with
    // pipefail the run's status is the rightmost failure, cloudsync's integrity error (4).
    fake(`head -c 100 "${archive}"\nexit 1`);
    const failed = await script("sync-to-cloud.sh", ["-t", dest], env);
    expect(failed.code).toBe(4);
    const listed = await runCli(["list", "--from", dest, "--json"]);
    expect(listed.json<unknown[]>()).toHaveLength(1);
  });

  it("encrypt, sync (archive on stdin) and restore through a local directory", async () => {
    await roundTrip(join(work, "local"), {});
  });

  const s3Skip = s3SkipReason();
  if (s3Skip) console.warn(`skipping the scripts-over-S3 test: ${s3Skip}`);
  describe.skipIf(!!s3Skip)("against the real S3 server", () => {
    let bucket: string;
    beforeAll(async () => {
      bucket = await createTestBucket("scripts");
    });
    afterAll(async () => {
      if (bucket) await deleteTestBucket(bucket);
    });
    it("encrypt, sync (archive on stdin) and restore through s3://", async () => {
      await roundTrip(`s3://${bucket}/home`, {
        CLOUDSYNC_S3_ENDPOINT: process.env.S3_TEST_ENDPOINT!,
        AWS_ACCESS_KEY_ID: process.env.S3_TEST_ACCESS_KEY!,
        AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_SECRET_KEY!,
        AWS_REGION: process.env.S3_TEST_REGION || "us-east-1",
      });
    });
  });
});
