// The CLI's output conventions, on the real process (README "Output conventions"): one JSON
// document with --json whatever happens, interrupts are exit 130 and leave nothing, a closed
// stdout ends the run quietly, a file is not a destination, typos in variables are warned about,
// and secrets (age keys, passwords) never come back out while hosts stay visible.
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, filesUnder, runCli, spawnCli } from "../support/cli.js";

if (CLI_SKIP) console.warn(`skipping CLI convention tests: ${CLI_SKIP}`);

/** Polls `condition` until it holds or `ms` pass (no fixed sleeps: the machine may be loaded). */
async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the exit code, stdout and stderr of a spawned CLI. */
function settle(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe.skipIf(!!CLI_SKIP)("CLI output conventions", () => {
  let work: string;
  let identity: string;
  let secretKey: string;
  let recipient: string;
  let archive: string;
  let backups: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-conventions-"));
    identity = join(work, "identity.txt");
    const made = await runCli(["keys", "new", "--out", identity, "--json"]);
    expect(made.code, made.stderr).toBe(0);
    recipient = made.json<{ recipient: string }>().recipient;
    secretKey = /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(readFileSync(identity, "utf8"))![0];
    archive = join(work, "data.archive");
    await pipeline(generateDemoArchive({ targetBytes: 8 << 20, seed: 11 }), createWriteStream(archive));
    backups = join(work, "B");
    for (let i = 0; i < 3; i++) {
      const b = await runCli(["backup", "--from-archive", archive, "--to", backups, "-r", recipient, "--json"], { timeoutMs: 120_000 });
      expect(b.code, b.stderr).toBe(0);
    }
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe("--json prints exactly one JSON document on stdout, whatever happens", () => {
    it("--version answers {version}", async () => {
      const r = await runCli(["--json", "--version"]);
      expect(r.code).toBe(0);
      expect(r.json()).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    });

    it.each([
      ["an unknown global option", ["--json", "--bogus"], "unknown option '--bogus'"],
      ["an unknown command option", ["list", "--nope", "--json"], "unknown option '--nope'"],
      ["a missing argument", ["--json", "verify"], "missing required argument 'id|latest'"],
      ["no command", ["--json"], "no command given; run with --help for the list of commands"],
    ])("a usage error (%s) is an error document, exit 2, and still explained on stderr", async (_name, args, message) => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.json()).toEqual({ error: { code: "usage", exitCode: 2, message } });
      expect(r.stderr).not.toBe("");
    });
  });

  it("a destination that is a regular file is a configuration error (exit 2) naming the flag it came from, and the file is left as it was", async () => {
    const file = join(work, "not-a-dir");
    writeFileSync(file, "hello");
    const l = await runCli(["list", "--from", file]);
    expect(l).toMatchObject({ code: 2, stdout: "" });
    expect(l.stderr).toBe(`cloudsync: --from: ${file} is a file, not a directory; a local destination is a directory of backups, so give a directory path (it is created if missing)\n`);
    const b = await runCli(["backup", "--from-archive", archive, "--to", join(file, "sub"), "-r", recipient, "--json"]);
    expect(b.code).toBe(2);
    expect(b.json()).toEqual({ error: { code: "config", exitCode: 2, field: "--to", message: `--to: ${file} (in ${join(file, "sub")}) is a file, not a directory; a local destination is a directory of backups, so give a directory path (it is created if missing)` } });
    expect(b.stderr).not.toContain("unexpected error");
    expect(readFileSync(file, "utf8")).toBe("hello");
  });

  it.each([[[] as string[]], [["--json"]]])("a closed stdout (| head) ends %j list quietly: exit 0, nothing on stderr", async (extra) => {
    const child = spawnCli(["list", "--from", backups, ...extra]);
    // The reader has gone before the CLI writes, as with `| head -1` on a long listing.
    child.stdout!.destroy();
    const r = await settle(child);
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
  });

  describe("an interrupt is exit 130 with a plain message, and nothing is left on disk", () => {
    for (const json of [false, true]) {
      it(`SIGINT during a backup from stdin${json ? " with --json" : ""}`, async () => {
        const dest = join(work, `interrupted-${json ? "json" : "text"}`);
        // stdin is fed half the archive and kept open, so the backup is surely mid-upload.
        const child = spawnCli(["backup", "--from-archive", "-", "--to", dest, "-r", recipient, ...(json ? ["--json"] : [])]);
        const done = settle(child);
        child.stdin!.on("error", () => undefined);
        const bytes = readFileSync(archive);
        child.stdin!.write(bytes.subarray(0, bytes.length >> 1));
        // The temporary object in data/ shows the backup has started writing.
        await waitFor(() => filesUnder(dest).some((f) => f.includes(".tmp-")), 100_000, "the backup's temporary file").catch((err: unknown) => {
          child.kill("SIGKILL");
          throw err;
        });
        child.kill("SIGINT");
        // A run that ignored the interrupt must not outlive the test.
        const killer = setTimeout(() => child.kill("SIGKILL"), 100_000);
        const r = await done.finally(() => clearTimeout(killer));
        child.stdin!.destroy();
        expect({ code: r.code, signal: r.signal }).toEqual({ code: 130, signal: null });
        expect(r.stderr).toBe("cloudsync: SIGINT received; stopping and cleaning up (press again to force)\ncloudsync: interrupted; nothing was written\n");
        if (json) expect(JSON.parse(r.stdout)).toEqual({ error: { code: "interrupted", exitCode: 130, message: "interrupted; nothing was written" } });
        else expect(r.stdout).toBe("");
        expect(filesUnder(dest)).toEqual([]);
      }, 150_000);
    }
  });

  describe("an unknown CLOUDSYNC_* or CLOUD_SYNC_* variable is warned about, naming the closest known one", () => {
    const warning = "CLOUDSYNC_DESTINATON is not a cloudsync variable and is ignored; did you mean CLOUDSYNC_DESTINATION?";

    it("on stderr and in the --json document's warnings", async () => {
      const dest = join(work, "typo");
      const b = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"], { env: { CLOUDSYNC_DESTINATON: join(work, "meant") }, timeoutMs: 120_000 });
      expect(b.code, b.stderr).toBe(0);
      expect(b.stderr).toBe(`cloudsync: warning: ${warning}\n`);
      expect(b.json<{ warnings: string[] }>().warnings).toEqual([warning]);
      const e = await runCli(["list", "--from", "ftp://x", "--json"], { env: { CLOUDSYNC_DESTINATON: "x" } });
      expect(e.code).toBe(2);
      expect(e.json<{ warnings: string[] }>().warnings).toEqual([warning]);
    }, 150_000);

    it("with no unknown variable there is no warnings key and nothing on stderr", async () => {
      const e = await runCli(["list", "--from", "ftp://x", "--json"]);
      expect(e.json<Record<string, unknown>>()).not.toHaveProperty("warnings");
      expect(e.stderr).toBe(`cloudsync: --from: unknown scheme "ftp://"; use a path, file:///path, s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix\n`);
    });
  });

  describe("an age secret key given by mistake is refused and never printed", () => {
    const notRecipient = "this is a secret key, not a recipient; use `age-keygen -y` to get its recipient";
    const cases: Array<[string, string[], Record<string, string>, string]> = [
      ["-r", ["-r"], {}, "--recipient"],
      ["CLOUDSYNC_RECIPIENTS", [], { CLOUDSYNC_RECIPIENTS: "KEY" }, "CLOUDSYNC_RECIPIENTS"],
    ];
    for (const [name, flag, env, field] of cases) {
      it(`as ${name}`, async () => {
        const dest = join(work, `key-${field}`);
        const args = ["backup", "--from-archive", archive, "--to", dest, ...flag.flatMap((f) => [f, secretKey]), "--json"];
        const r = await runCli(args, { env: Object.fromEntries(Object.entries(env).map(([k]) => [k, secretKey])) });
        expect(r.code).toBe(2);
        expect(r.json()).toEqual({ error: { code: "config", exitCode: 2, field, message: `${field}: ${notRecipient}` } });
        expect(r.stderr).toBe(`cloudsync: ${field}: ${notRecipient}\n`);
        expect(r.stdout + r.stderr).not.toContain(secretKey.slice(16));
        expect(filesUnder(dest)).toEqual([]);
      });
    }

    it("as a command line word commander cannot parse", async () => {
      const r = await runCli(["--json", secretKey]);
      expect(r.code).toBe(2);
      expect(r.json()).toEqual({ error: { code: "usage", exitCode: 2, message: "unknown command '**redacted**'" } });
      expect(r.stderr.split("\n")[0]).toBe("error: unknown command '**redacted**'");
      expect(r.stdout + r.stderr).not.toContain(secretKey.slice(16));
    });

    it("as CLOUDSYNC_IDENTITY_FILE", async () => {
      const r = await runCli(["verify", "latest", "--from", backups, "--json"], { env: { CLOUDSYNC_IDENTITY_FILE: secretKey } });
      expect(r.code).toBe(2);
      const message = "CLOUDSYNC_IDENTITY_FILE: this is a secret key itself, not the path of an identity file; save it in a file only you can read and give that file's path (`age-keygen -y FILE` prints its recipient)";
      expect(r.json()).toEqual({ error: { code: "config", exitCode: 2, field: "CLOUDSYNC_IDENTITY_FILE", message } });
      expect(r.stderr).toBe(`cloudsync: ${message}\n`);
      expect(r.stdout + r.stderr).not.toContain(secretKey.slice(16));
    });
  });

  describe("connection strings: only the secret goes, the host stays", () => {
    it("a password with an unescaped @ does not leak in part", async () => {
      const r = await runCli(["backup", "--uri", "mongodb://user:p@ssTAIL@127.0.0.1:1/db?serverSelectionTimeoutMS=300", "--to", join(work, "uri"), "-r", recipient, "--json"], { timeoutMs: 120_000 });
      expect(r.code).toBe(5);
      expect(r.stderr).toBe("cloudsync: mongodb connect mongodb://user:**redacted**@127.0.0.1:1/db?serverSelectionTimeoutMS=300: invalid connection string: Invalid connection string\n");
      expect(r.json<{ error: { message: string } }>().error.message).toBe("mongodb connect mongodb://user:**redacted**@127.0.0.1:1/db?serverSelectionTimeoutMS=300: invalid connection string: Invalid connection string");
      expect(r.stdout + r.stderr).not.toContain("ssTAIL");
    }, 150_000);

    it("a connection string without a password is shown whole", async () => {
      const r = await runCli(["backup", "--uri", "mongodb://127.0.0.1:1/db?serverSelectionTimeoutMS=300", "--to", join(work, "uri2"), "-r", recipient], { timeoutMs: 120_000 });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/^cloudsync: mongodb connect mongodb:\/\/127\.0\.0\.1:1\/db\?serverSelectionTimeoutMS=300: \S/);
      expect(r.stderr).not.toContain("**redacted**");
      expect(readdirSync(work)).not.toContain("uri2");
    }, 150_000);
  });
});
