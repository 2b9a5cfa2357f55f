// Runs every command of the runbooks. Each document's ```sh blocks are joined, in order, into one
// bash script (set -euo pipefail) run in a scratch HOME and directory, with the compiled CLI as
// `cloudsync` on PATH. A line ending in `# not run in tests: <reason>` is replaced by a no-op
// and its reason printed. mongodump and mongorestore are the real MongoDB Database Tools (built
// by scripts/build-peers.sh) against a private FerretDB holding a small `shop` database; each
// mongorestore restores beside the source (see restoreWrapper) so the result can be compared.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MongoClient } from "mongodb";
import { compareDescriptions, describeDatabase } from "../../runtime/src/mongo/compare.js";
import { Secret } from "../../runtime/src/secret.js";
import { CLI, CLI_SKIP, REPO } from "../support/cli.js";
import { ferretdbSkipReason, spawnFerretdb, type FerretdbProcess } from "../support/ferretdb-service.js";
import { freePort, mongoTestUri } from "../support/mongo-service.js";
import { mongoToolPath, mongoToolsSkipReason } from "../support/peers.js";
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

/**
 * A PATH directory with `cloudsync` (the compiled CLI) and, when the stock tools are built, the
 * real `mongodump` and a `mongorestore` that runs the real one (see `restoreWrapper`).
 */
function toolDir(work: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cloudsync-doc-bin-"));
  const put = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  };
  put("cloudsync", `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  const dump = mongoToolPath("mongodump");
  const restore = mongoToolPath("mongorestore");
  if (dump) symlinkSync(dump, join(dir, "mongodump"));
  if (restore) put("mongorestore", restoreWrapper(restore, work));
  return dir;
}

/** The source database of the runbooks' stock-tools commands, on the private FerretDB. */
const SOURCE_DB = "shop";

/**
 * The real mongorestore, run with the runbook line's own arguments plus two the test needs: the
 * restore lands beside the source (`--nsFrom=shop.* --nsTo=shop_restore<N>.*`, N counting the
 * calls) so it can be compared with it, and `--uri=$MONGODB_URI` when the line names no server
 * (the README's lines restore to the default localhost:27017). Its stderr is kept in
 * `restore-<N>.log` for the assertions. Exit 1 is passed on as 0 only when every failure is the
 * one FerretDB gives mongorestore 100.7.0 (it sends each index with an "ns" option, which FerretDB
 * refuses: the documents are in, the secondary indexes are not), which the test asserts exactly.
 */
function restoreWrapper(real: string, work: string): string {
  return `#!/bin/bash
n=$(( $(cat "${work}/restore-count" 2>/dev/null || echo 0) + 1 )); echo "$n" > "${work}/restore-count"
uri=(); case " $* " in *" --uri"*) ;; *) uri=(--uri="$MONGODB_URI") ;; esac
log="${work}/restore-$n.log"
"${real}" "\${uri[@]}" "$@" --nsFrom='${SOURCE_DB}.*' --nsTo="${SOURCE_DB}_restore$n.*" 2>"$log"
code=$?
cat "$log" >&2
if [ "$code" = 1 ] && grep -q 'Failed: ' "$log" && ! grep 'Failed: ' "$log" | grep -vq 'Index option "ns" is unknown'; then exit 0; fi
exit "$code"
`;
}

/** Seeds the source database: 30 orders with a secondary index, 2 users. */
async function seedSource(uri: string): Promise<void> {
  const client = new MongoClient(uri);
  try {
    const db = client.db(SOURCE_DB);
    await db.collection<{ _id: number }>("orders").insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i, sku: `SKU-${i}`, total: i * 2.5 })));
    await db.collection("orders").createIndex({ sku: 1 }, { unique: true, name: "sku_1" });
    await db.collection<{ _id: string; name: string }>("users").insertMany([{ _id: "ann", name: "Ann" }, { _id: "bob", name: "Bob" }]);
  } finally {
    await client.close();
  }
}

/**
 * What the N-th mongorestore of a run did: every document of `shop` restored into
 * `shop_restore<N>`, identical in content (indexes aside: FerretDB refuses mongorestore's), and
 * exactly FerretDB's index failure in its output.
 */
async function expectRestoredBeside(uri: string, work: string, n: number): Promise<void> {
  const log = readFileSync(join(work, `restore-${n}.log`), "utf8");
  const dst = `${SOURCE_DB}_restore${n}`;
  expect(log).toContain("32 document(s) restored successfully. 0 document(s) failed to restore.");
  expect(log).toContain(`Failed: ${dst}.orders: error creating indexes for ${dst}.orders: createIndex error: (BadValue) Index option "ns" is unknown`);
  const names = ["orders", "users"];
  const source = await describeDatabase(new Secret(uri), names.map((c) => `${SOURCE_DB}.${c}`));
  const restored = await describeDatabase(new Secret(uri), names.map((c) => `${dst}.${c}`));
  expect(restored.map((d) => d.count)).toEqual([30, 2]);
  expect(compareDescriptions(source, restored, (ns) => ns.replace(`${SOURCE_DB}.`, `${dst}.`)).filter((d) => d.what !== "indexes")).toEqual([]);
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
  return { work, env: { PATH: `${toolDir(work)}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: home, LANG: "C.UTF-8" } };
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

/** Why the stock-tools runs skip: the peers they need (the MongoDB Database Tools, FerretDB), named. */
const peersSkip = mongoToolsSkipReason() ?? ferretdbSkipReason();

const backupSkip = CLI_SKIP ?? peersSkip ?? s3SkipReason() ?? missingTools(["age", "age-keygen", "aws", "jq", "sha256sum"]);
if (backupSkip) console.warn(`skipping the docs/CLOUD_BACKUP.md run: ${backupSkip}`);
describe.skipIf(!!backupSkip)(`docs/CLOUD_BACKUP.md, every command${backupSkip ? ` (skipped: ${backupSkip})` : ""}`, () => {
  let bucket: string;
  let server: FerretdbProcess;
  beforeAll(async () => {
    bucket = await createTestBucket("runbook", { versioning: true });
    // A private server: the runbook's mongodump dumps every database on it.
    server = await spawnFerretdb();
    await seedSource(server.uri);
  });
  afterAll(async () => {
    if (bucket) await deleteTestBucket(bucket);
    await server?.stop();
  });

  it("runs against the S3 test server and the compiled CLI", async () => {
    const { script, skipped, run } = scriptOf(shCommands(readFileSync(join(REPO, "docs", "CLOUD_BACKUP.md"), "utf8")), notYet);
    report("docs/CLOUD_BACKUP.md", skipped);
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
      MONGODB_URI: server.uri,
    });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(run).toBeGreaterThanOrEqual(20);
    expect(skipped.map(([, reason]) => reason).filter((x) => !/the test|no mongod|estimate/.test(x))).toEqual([]);
    // The stock-tools restore: checksum confirmed by sha256sum, archive decrypted by age and every CRC checked.
    expect(r.stdout).toContain("backup.age: OK\n");
    expect(r.stdout).toMatch(/shop\.orders\s+30\s+30\s+yes/);
    // Two real mongorestore runs: --dir ./restored (section 4), then age -d | mongorestore --archive --gzip (section 5).
    expect(readFileSync(join(work, "restore-count"), "utf8")).toBe("2\n");
    await expectRestoredBeside(server.uri, work, 1);
    await expectRestoredBeside(server.uri, work, 2);
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

/** The sh-block command lines of the section under `heading` (up to the next `## ` heading) in `markdown`. */
function sectionCommands(markdown: string, heading: string): string[] {
  const at = markdown.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`no heading "${heading}"`);
  const next = markdown.indexOf("\n## ", at + heading.length + 1);
  return shCommands(markdown.slice(at, next < 0 ? undefined : next));
}

const stockSkip = CLI_SKIP ?? peersSkip ?? missingTools(["age", "zstd"]);
if (stockSkip) console.warn(`skipping the README's stock-tools lines: ${stockSkip}`);
describe.skipIf(!!stockSkip)(`the README's and docs/CLOUD_BACKUP.md's stock-tools restores, for real${stockSkip ? ` (skipped: ${stockSkip})` : ""}`, () => {
  // A fresh server for each test: each restores into shop_restore1 and compares it with shop.
  let server: FerretdbProcess;
  beforeEach(async () => {
    server = await spawnFerretdb();
    await seedSource(server.uri);
  });
  afterEach(async () => {
    await server?.stop();
  });

  it("README 'Restoring with stock tools only': age -d | mongorestore --archive --gzip, the zstd line, and age -d | gunzip > dump.archive", async () => {
    const { work, env } = sandbox();
    const runEnv = { ...env, MONGODB_URI: server.uri };
    const made = await runScript(
      `set -euo pipefail\ncloudsync keys new --out identity.txt\ncloudsync backup --uri "$MONGODB_URI" --include '${SOURCE_DB}.*' --to ./backups -r "$(age-keygen -y identity.txt)" --json > backup.json\ncloudsync backup --uri "$MONGODB_URI" --include '${SOURCE_DB}.*' --compress zstd --to ./backups -r "$(age-keygen -y identity.txt)" --json > backup-zstd.json\n`,
      work,
      runEnv,
    );
    expect(made.code, made.stderr).toBe(0);
    const idOf = (file: string): string => (JSON.parse(readFileSync(join(work, file), "utf8")) as { id: string }).id;
    const id = idOf("backup.json");
    const zstdId = idOf("backup-zstd.json");
    const lines = sectionCommands(readFileSync(join(REPO, "README.md"), "utf8"), "## Restoring with stock tools only");
    expect(lines).toEqual([
      "age -d -i identity.txt data/<id>.archive.gz.age | mongorestore --archive --gzip",
      "# a zstd backup (--compress zstd) needs the zstd CLI in between",
      "age -d -i identity.txt data/<id>.archive.zst.age | zstd -d | mongorestore --archive",
      "# or, to a file",
      "age -d -i identity.txt data/<id>.archive.gz.age | gunzip > dump.archive",
    ]);
    // The README's lines run in the destination's directory, where data/<id>… is; the zstd line
    // restores the zstd backup.
    const script = ["set -euo pipefail", "cp identity.txt backups/", "cd backups", ...lines.map((l) => l.replaceAll("<id>", l.includes(".zst.") ? zstdId : id))].join("\n");
    const r = await runScript(script, work, runEnv);
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    await expectRestoredBeside(server.uri, work, 1);
    await expectRestoredBeside(server.uri, work, 2);
    const inspected = await runScript("cloudsync inspect backups/dump.archive --json", work, runEnv);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toContain(`"${SOURCE_DB}.orders"`);
  }, 150_000);

  it("docs/CLOUD_BACKUP.md's zstd line: age -d … | zstd -d | mongorestore --archive", async () => {
    const { work, env } = sandbox();
    const runEnv = { ...env, MONGODB_URI: server.uri };
    const line = /`(age -d … \| zstd -d \| mongorestore --archive)`/.exec(readFileSync(join(REPO, "docs", "CLOUD_BACKUP.md"), "utf8"))?.[1];
    expect(line).toBe("age -d … | zstd -d | mongorestore --archive");
    const script = [
      "set -euo pipefail",
      "cloudsync keys new --out identity.txt",
      `id=$(cloudsync backup --uri "$MONGODB_URI" --include '${SOURCE_DB}.*' --compress zstd --to ./backups -r "$(age-keygen -y identity.txt)" --json | jq -r .id)`,
      line!.replace("…", '-i identity.txt "backups/data/$id.archive.zst.age"'),
    ].join("\n");
    const r = await runScript(script, work, runEnv);
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    await expectRestoredBeside(server.uri, work, 1);
  }, 150_000);
});
