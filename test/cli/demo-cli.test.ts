// `cloudsync demo` as a user runs it (`npm run demo`): the live path on the embedded jongodb
// (backup --uri, list, verify, restore into a second database, compare), the server gone
// afterwards, also after Ctrl-C, and the archive demo where jongodb cannot run.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, filesUnder, runCli, spawnCli } from "../support/cli.js";
import { JONGODB_BIN } from "../support/mongo-service.js";

// The suite's harness log is not a cloudsync variable; keep the demo's output free of that warning.
const env = { CLOUDSYNC_TEST_MATRIX_LOG: undefined };
const NAMESPACES = ["cloudsync.models", "cloudsync.inventories", "cloudsync.licenses", "cloudsync.events"];

/** True while a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `pred` holds, polling; rejects after `timeoutMs`. */
async function until(pred: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface DemoJson {
  mode: "live" | "archive";
  fallbackReason?: string;
  server?: { kind: string; pid: number; stopped: boolean };
  id: string;
  verified: boolean;
  restoredTo: string;
  consistency: { mode: string };
  namespaces: Array<{ ns: string; target: string; expected: number; restored: number; sameContent?: boolean; ok: boolean }>;
}

describe.skipIf(!!CLI_SKIP)(`cloudsync demo, as a process${CLI_SKIP ? ` (skipped: ${CLI_SKIP})` : ""}`, () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-demo-cli-"));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const liveSkip = existsSync(JONGODB_BIN) ? undefined : `the optional package @jongodb/memory-server-bin-linux-x64-gnu is not installed (no ${JONGODB_BIN})`;

  it.skipIf(!!liveSkip)(`runs the live path on the embedded jongodb and stops it afterwards${liveSkip ? ` (skipped: ${liveSkip})` : ""}`, async () => {
    const dir = join(work, "live");
    const r = await runCli(["demo", "--size", "256KiB", "--dir", dir, "--json"], { env, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<DemoJson>();
    expect(out.mode).toBe("live");
    expect(out.fallbackReason).toBeUndefined();
    expect(out.server).toMatchObject({ kind: "jongodb", stopped: true });
    expect(alive(out.server!.pid)).toBe(false);
    expect(out.verified).toBe(true);
    // jongodb's hello names no replica set: the dump is fuzzy, as on any standalone.
    expect(out.consistency.mode).toBe("fuzzy");
    expect(out.restoredTo).toBe("cloudsync_restored on the embedded jongodb (stopped)");
    expect(out.namespaces.map((n) => n.ns).sort()).toEqual([...NAMESPACES].sort());
    for (const n of out.namespaces) {
      expect(n).toEqual({ ns: n.ns, target: n.ns.replace("cloudsync.", "cloudsync_restored."), expected: n.expected, restored: n.expected, sameContent: true, ok: true });
      expect(n.expected).toBeGreaterThan(0);
    }
    const stored = filesUnder(join(dir, "backups"));
    expect(stored.slice(0, 2)).toEqual([`data/${out.id}.archive.gz.age`, `manifests/${out.id}.json`]);
    expect(stored.slice(2)).toEqual([expect.stringMatching(new RegExp(`^verifications/${out.id}/\\d{8}T\\d{9}Z\\.json$`))]);
    // The live path restores into MongoDB, not into a directory.
    expect(existsSync(join(dir, "restored"))).toBe(false);
  }, 320_000);

  it.skipIf(!!liveSkip)(`Ctrl-C while the live demo runs exits 130 and leaves no jongodb behind${liveSkip ? ` (skipped: ${liveSkip})` : ""}`, async () => {
    const child = spawnCli(["demo", "--size", "64MiB", "--dir", join(work, "interrupted")], { env });
    let stdout = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.resume();
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    await until(() => /1\/5 loading/.test(stdout), "the loading step");
    const pid = Number(/started jongodb \(pid (\d+)\)/.exec(stdout)?.[1]);
    expect(alive(pid)).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stdout).toContain(`stopped jongodb (pid ${pid})`);
    expect(alive(pid)).toBe(false);
  }, 180_000);

  it("falls back to the archive demo when jongodb cannot run, and says why", async () => {
    const dir = join(work, "fallback");
    const missing = join(work, "no-such-jongodb");
    const r = await runCli(["demo", "--size", "256KiB", "--dir", dir, "--jongodb", missing, "--json"], { env, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<DemoJson>();
    expect(out.mode).toBe("archive");
    expect(out.fallbackReason).toBe(`the jongodb binary ${missing} does not exist or is not executable`);
    expect(out.server).toBeUndefined();
    expect(out.verified).toBe(true);
    expect(out.restoredTo).toBe(join(dir, "restored", out.id));
    expect(out.namespaces.map((n) => n.ns)).toEqual(NAMESPACES);
    for (const n of out.namespaces) expect(n).toEqual({ ns: n.ns, target: n.ns, expected: n.expected, restored: n.expected, ok: true });
    expect(filesUnder(out.restoredTo)).toEqual(NAMESPACES.flatMap((ns) => [`cloudsync/${ns.slice(10)}.bson`, `cloudsync/${ns.slice(10)}.metadata.json`]).sort());

    const human = await runCli(["demo", "--size", "64KiB", "--dir", dir, "--archive-only"], { env, timeoutMs: 120_000 });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.split("\n")[0]).toBe("no embedded server: --archive-only given; running the archive demo instead (a generated mongodump archive, restored to a directory)");
    expect(human.stdout).toContain("4/4 restoring ");
  }, 260_000);
});
