// Runs every command of the runbooks. Each document's ```sh blocks are joined, in order, into one
// bash script (set -euo pipefail) run in a scratch HOME and directory, with the compiled CLI as
// `cloudsync` on PATH. A line ending in `# not run in tests: <reason>` is replaced by a no-op
// and its reason printed. mongodump and mongorestore are not installed here: stand-ins take their
// place (mongodump prints a real mongodump archive from the fixtures; mongorestore checks what it
// is given — the archive with `cloudsync inspect`, every CRC — instead of loading it).
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, CLI_SKIP, FIXTURES, FIXTURES_SKIP, REPO } from "../support/cli.js";
import { freePort, mongoTestUri } from "../support/mongo-service.js";
import { createTestBucket, deleteTestBucket, s3SkipReason } from "../support/s3-service.js";

const MARKER = /\s+# not run in tests: (.*)$/;

/** The document's sh blocks as logical command lines (backslash continuations joined). */
export function shCommands(markdown: string): string[] {
  const lines: string[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    let pending = "";
    for (const raw of m[1]!.split("\n")) {
      if (raw.endsWith("\\")) {
        pending += raw.slice(0, -1) + " ";
        continue;
      }
      const line = pending + raw;
      pending = "";
      if (line.trim() !== "") lines.push(line);
    }
  }
  return lines;
}

/** The script to run, the skipped lines with their reasons, and how many lines run. */
function scriptOf(commands: string[], skipIf: (line: string) => string | undefined): { script: string; skipped: Array<[string, string]>; run: number } {
  const skipped: Array<[string, string]> = [];
  const out = ["set -euo pipefail"];
  for (const line of commands) {
    const reason = MARKER.exec(line)?.[1]?.trim() ?? skipIf(line);
    if (reason !== undefined) {
      skipped.push([line.replace(MARKER, ""), reason]);
      out.push(":");
    } else out.push(line);
  }
  return { script: out.join("\n") + "\n", skipped, run: commands.length - skipped.length };
}

/** A PATH directory with `cloudsync` (the compiled CLI) and the mongodump/mongorestore stand-ins. */
function toolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cloudsync-doc-bin-"));
  const put = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  };
  put("cloudsync", `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  put(
    "mongodump",
    `#!/bin/sh
# Stand-in: prints the real mongodump fixture archive (to stdout, or to --archive=FILE).
for a in "$@"; do case "$a" in --archive=*) cp "${join(FIXTURES, "test.bar.archive")}" "\${a#--archive=}"; exit 0 ;; esac; done
for a in "$@"; do [ "$a" = "--archive" ] && exec cat "${join(FIXTURES, "test.bar.archive")}"; done
echo "mongodump stand-in: needs --archive" >&2; exit 2
`,
  );
  put(
    "mongorestore",
    `#!/bin/sh
# Stand-in: validates what mongorestore would load instead of loading it.
set -eu
dir=""; archive=0; prev=""
for a in "$@"; do
  [ "$prev" = "--dir" ] && dir="$a"
  [ "$a" = "--archive" ] && archive=1
  prev="$a"
done
if [ "$archive" = 1 ]; then
  tmp="$(mktemp)"; cat > "$tmp"
  cloudsync inspect "$tmp"
  rm -f "$tmp"; echo "mongorestore stand-in: archive ok"; exit 0
fi
if [ -n "$dir" ]; then
  n="$(find "$dir" -name '*.bson' | wc -l)"
  [ "$n" -gt 0 ] || { echo "mongorestore stand-in: no .bson files in $dir" >&2; exit 1; }
  echo "mongorestore stand-in: $n collection(s) in $dir"; exit 0
fi
echo "mongorestore stand-in: needs --archive or --dir" >&2; exit 2
`,
  );
  return dir;
}

/** Runs `script` with bash in its own process group (killed afterwards, so a background server never outlives it). */
function runScript(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group is already gone.
      }
      resolve({ code, stdout, stderr });
    });
  });
}

/** Prints which lines were not run and why, so a skipped command is never silent. */
function report(doc: string, skipped: Array<[string, string]>): void {
  console.warn(`${doc}: ${skipped.length} line(s) not run:\n${skipped.map(([l, r]) => `  ${l.trim()}\n    → ${r}`).join("\n")}`);
}

function sandbox(): { work: string; env: Record<string, string> } {
  const work = mkdtempSync(join(tmpdir(), "cloudsync-doc-"));
  const home = join(work, "home");
  spawnSync("mkdir", ["-p", home]);
  symlinkSync(join(REPO, "scripts"), join(work, "scripts"));
  return { work, env: { PATH: `${toolDir()}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: home, LANG: "C.UTF-8" } };
}

const estimateRegistered = !CLI_SKIP && /^\s+estimate\b/m.test(spawnSync(process.execPath, [CLI, "--help"]).stdout.toString());
const notYet = (line: string): string | undefined => (!estimateRegistered && /^cloudsync estimate\b/.test(line.trim()) ? "`cloudsync estimate` is not registered in this build's command list yet" : undefined);

describe("runbook structure", () => {
  it.each(["CLOUD_BACKUP.md", "JEFFREYSANFORD_DEPLOY.md"])("%s: shell commands are in sh blocks only, and every skipped line gives a reason", (doc) => {
    const text = readFileSync(join(REPO, "docs", doc), "utf8");
    expect(text).not.toMatch(/^```(bash|shell|console|zsh)\s*$/m);
    expect(text).not.toMatch(/^```\s*\n\s*(cloudsync|pulumi|mongodump|curl|ssh) /m);
    const commands = shCommands(text);
    expect(commands.length).toBeGreaterThan(10);
    for (const line of commands) if (/# not run in tests/.test(line)) expect(line).toMatch(/# not run in tests: \S.{5,}$/);
  });
});

/** Why the stock tools a runbook calls are unusable here, or undefined when all are on PATH. */
function missingTools(names: string[]): string | undefined {
  const missing = names.filter((n) => spawnSync("sh", ["-c", `command -v ${n}`]).status !== 0);
  return missing.length ? `not installed: ${missing.join(", ")} (CI installs them with scripts/install-system-deps.sh)` : undefined;
}

const backupSkip = CLI_SKIP ?? FIXTURES_SKIP ?? s3SkipReason() ?? missingTools(["age", "age-keygen", "aws", "jq", "sha256sum"]);
if (backupSkip) console.warn(`skipping the docs/CLOUD_BACKUP.md run: ${backupSkip}`);
describe.skipIf(!!backupSkip)("docs/CLOUD_BACKUP.md, every command", () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createTestBucket("runbook", { versioning: true });
  });
  afterAll(async () => {
    if (bucket) await deleteTestBucket(bucket);
  });

  it("runs against the S3 test server and the compiled CLI", async () => {
    const { script, skipped, run } = scriptOf(shCommands(readFileSync(join(REPO, "docs", "CLOUD_BACKUP.md"), "utf8")), notYet);
    report("docs/CLOUD_BACKUP.md", skipped);
    console.warn("docs/CLOUD_BACKUP.md: mongodump and mongorestore are not installed here: a stand-in mongodump prints the real mongodump fixture, a stand-in mongorestore checks its archive with `cloudsync inspect` (every CRC) or its --dir for .bson files instead of loading them");
    const { work, env } = sandbox();
    const r = await runScript(script, work, {
      ...env,
      CLOUDSYNC_DESTINATION: `s3://${bucket}/mongo`,
      CLOUDSYNC_S3_ENDPOINT: process.env.S3_TEST_ENDPOINT!,
      AWS_ENDPOINT_URL: process.env.S3_TEST_ENDPOINT!,
      AWS_ACCESS_KEY_ID: process.env.S3_TEST_ACCESS_KEY!,
      AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_SECRET_KEY!,
      AWS_REGION: process.env.S3_TEST_REGION || "us-east-1",
      AWS_DEFAULT_REGION: process.env.S3_TEST_REGION || "us-east-1",
      MONGODB_URI: "mongodb://127.0.0.1:9/unused-by-the-stand-ins",
    });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(run).toBeGreaterThanOrEqual(20);
    expect(skipped.map(([, reason]) => reason).filter((x) => !/the test|no mongod|estimate/.test(x))).toEqual([]);
    // The stock-tools restore: checksum confirmed by sha256sum, archive decrypted by age and every CRC checked.
    expect(r.stdout).toContain("backup.age: OK\n");
    expect(r.stdout).toMatch(/test\.bar\s+1\s+\d+\s+ok/);
    expect(r.stdout).toContain("mongorestore stand-in: archive ok");
    expect(r.stdout).toContain("mongorestore stand-in: 2 collection(s) in ./restored\n");
    // Three backups made (pipe, two scripts) plus the one after rotation.
    const listed = spawnSync(process.execPath, [CLI, "list", "--json", "--from", `s3://${bucket}/mongo`], { env: { ...process.env, ...env, CLOUDSYNC_S3_ENDPOINT: process.env.S3_TEST_ENDPOINT!, AWS_ACCESS_KEY_ID: process.env.S3_TEST_ACCESS_KEY!, AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_SECRET_KEY! } });
    expect((JSON.parse(listed.stdout.toString()) as unknown[]).length).toBe(4);
  }, 150_000);
});

const mongoUri = mongoTestUri();
const deploySkip = CLI_SKIP ?? (mongoUri ? undefined : "no MongoDB test server for `cloudsync sync-metadata`") ?? missingTools(["openssl", "curl", "sqlite3"]);
if (deploySkip) console.warn(`skipping the docs/JEFFREYSANFORD_DEPLOY.md run: ${deploySkip}`);
describe.skipIf(!!deploySkip)("docs/JEFFREYSANFORD_DEPLOY.md, every command", () => {
  it("runs the local trial, health checks and database copy against a real metadata server", async () => {
    const { script, skipped, run } = scriptOf(shCommands(readFileSync(join(REPO, "docs", "JEFFREYSANFORD_DEPLOY.md"), "utf8")), () => undefined);
    report("docs/JEFFREYSANFORD_DEPLOY.md", skipped);
    const { work, env } = sandbox();
    const port = await freePort();
    const r = await runScript(script, work, { ...env, METADATA_PORT: String(port), MONGODB_URI: mongoUri! });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(run).toBeGreaterThanOrEqual(12);
    expect(r.stdout).toMatch(/^\{"status":"ok","version":\d+\}$/m);
    expect(r.stdout).toContain("sync-metadata (once): pushed 0");
    expect(r.stdout).toMatch(/^ok$/m); // PRAGMA integrity_check of the copy
    expect(readFileSync(join(work, "metadata-api-key.txt"), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
  }, 150_000);
});
