// Each command loads only what it needs (issue 13 item 1), checked on the real process: the CLI
// runs with a Node `--import` hook (test/support/load-trace.ts) that records every module it
// resolves, ES and CommonJS alike. `--version`, `--help`, every command's `--help` and `list` on
// a local directory must not load the MongoDB driver, the AWS SDK, Fastify, better-sqlite3 or the
// Pulumi SDK; `serve-metadata` becomes the deployed serve-main.js (issue 13 item 6), which loads
// Fastify and SQLite and still neither the driver nor the SDK.
// Every `--help` stays as it was before commands became lazy: test/cli/help/ holds the text.
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { NODE_FLAGS, SERVER_ENTRY } from "../../runtime/src/metadata/deploy/options.js";
import { CLI_SKIP, REPO, runCli, spawnCli } from "../support/cli.js";

if (CLI_SKIP) console.warn(`skipping lazy-loading tests: ${CLI_SKIP}`);

const HOOK = join(REPO, "dist", "test", "support", "load-trace.js");

/** The heavy dependencies, by the folder their modules resolve to. */
const HEAVY = { "MongoDB driver": "/node_modules/mongodb/", "AWS SDK": "/node_modules/@aws-sdk/", Fastify: "/node_modules/fastify/", "better-sqlite3": "/node_modules/better-sqlite3/", "Pulumi SDK": "/node_modules/@pulumi/" };
type Heavy = keyof typeof HEAVY;

/** Every command and subcommand, as typed before `--help`. */
const COMMANDS = [[], ["demo"], ["backup"], ["list"], ["verify"], ["inspect"], ["restore"], ["oplog"], ["oplog", "follow"], ["oplog", "verify"], ["prune"], ["daemon"], ["status"], ["keys"], ["keys", "new"], ["seed"], ["seed", "export"], ["seed", "import"], ["seed", "verify"], ["seed", "list"], ["db"], ["db", "init"], ["db", "schema"], ["migrate"], ["standby"], ["estimate"], ["serve-metadata"], ["sync-metadata"]];

// A fixed config home: `keys new --help` names the default identity path under it.
const ENV = { XDG_CONFIG_HOME: "/home/user/.config" };

describe.skipIf(!!CLI_SKIP)("the CLI loads only what a command needs", () => {
  let work: string;
  let runs = 0;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-lazy-"));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Environment that makes the CLI record what it loads into a fresh file; returns the reader. */
  function traced(): { env: Record<string, string>; loaded: () => Heavy[]; modules: () => string[] } {
    const file = join(work, `trace-${++runs}.txt`);
    const modules = (): string[] => readFileSync(file, "utf8").split("\n").filter(Boolean);
    return {
      env: { ...ENV, NODE_OPTIONS: `--import ${HOOK}`, TEST_LOAD_TRACE_FILE: file },
      modules,
      loaded: () => (Object.keys(HEAVY) as Heavy[]).filter((name) => modules().some((url) => url.includes(HEAVY[name]))),
    };
  }

  it.each([
    ["--version", ["--version"]],
    ["--help", ["--help"]],
    ["--json --version", ["--json", "--version"]],
  ])("cloudsync %s loads none of them", async (_name, args) => {
    const trace = traced();
    const r = await runCli(args, { env: trace.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(trace.modules().some((url) => url.includes("/node_modules/commander/"))).toBe(true);
    expect(trace.loaded()).toEqual([]);
  });

  it("cloudsync list on an empty local directory loads none of them", async () => {
    const trace = traced();
    const dir = join(work, "empty-backups");
    const r = await runCli(["list", "--from", dir], { env: trace.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`no complete backups in ${dir}\n`);
    expect(trace.loaded()).toEqual([]);
  });

  it("cloudsync backup --from-archive into a local directory loads none of them", async () => {
    const archive = join(work, "lazy.archive");
    await pipeline(generateDemoArchive({ targetBytes: 256 * 1024, seed: 5 }), createWriteStream(archive));
    const keys = await runCli(["keys", "new", "--out", join(work, "lazy-identity.txt"), "--json"]);
    expect(keys.code, keys.stderr).toBe(0);
    const trace = traced();
    const r = await runCli(["backup", "--from-archive", archive, "--to", join(work, "lazy-backups"), "-r", keys.json<{ recipient: string }>().recipient, "--compress", "zstd", "--json"], { env: trace.env });
    expect(r.code, r.stderr).toBe(0);
    expect(trace.loaded()).toEqual([]);
  });

  it.each(COMMANDS.map((c) => [["cloudsync", ...c].join(" "), c]))("%s --help is unchanged and loads none of them", async (name, command) => {
    const trace = traced();
    const r = await runCli([...command, "--help"], { env: trace.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(readFileSync(join(REPO, "test", "cli", "help", `${name.replace(/ /g, "-")}.txt`), "utf8"));
    expect(trace.loaded()).toEqual([]);
  });

  it("cloudsync serve-metadata becomes the deployed serve-main.js with the unit's node flags, loading Fastify and better-sqlite3 but not the MongoDB driver or the AWS SDK", async () => {
    const trace = traced();
    const child: ChildProcess = spawnCli(["serve-metadata", "--db", join(work, "meta.sqlite"), "--port", "0"], { env: { ...trace.env, CLOUD_SYNC_API_KEY: undefined } });
    let output = "";
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        stream.on("data", (d: Buffer) => {
          output += d.toString();
          if (/listening on http:\/\//.test(output)) resolve();
        });
      }
      child.once("close", () => reject(new Error(`serve-metadata exited before listening: ${output}`)));
    });
    // The same process is now the deployed entry with the unit's flags (execve, same pid).
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    expect(cmdline).toEqual([process.execPath, ...NODE_FLAGS, join(REPO, SERVER_ENTRY), "--db", join(work, "meta.sqlite"), "--port", "0"]);
    child.kill("SIGTERM");
    // The process became serve-main.js, which stops cleanly on SIGTERM.
    expect(await closed, output).toBe(0);
    expect(trace.loaded()).toEqual(["Fastify", "better-sqlite3"]);
  });
});
