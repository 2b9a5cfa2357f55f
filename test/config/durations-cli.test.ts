// Issue 9 item 8, as processes: every duration flag and variable reads the one grammar. `m` is
// minutes everywhere; a keep-within in minutes (which meant months before) exits 2 and deletes
// nothing; `0` and `0d` behave the same. Daemon and standby runs stop at a later validation step,
// so no schedule or connection is ever started.
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeAgedBackups } from "../support/backups.js";
import { CLI_SKIP, REPO, filesUnder, runCli } from "../support/cli.js";

const UNITS = "use whole numbers with the units s, m (minutes), h, d, w, mo (months, 30 days) or y (years, 365 days), summed largest first, e.g. 90s, 10m, 1h30m, 7d, 6mo (see Durations in the README)";
const REFUSED_30M = '"30m" is refused: `m` is minutes; months are `mo` (30mo); a retention time is given in h, d, w, mo or y, never in minutes (m meant months before)';

if (CLI_SKIP) console.warn(`skipping duration CLI tests: ${CLI_SKIP}`);

/** The environment of each run: no duration or retention setting inherited from the caller's shell. */
const clean = { CLOUDSYNC_KEEP_WITHIN: undefined, CLOUDSYNC_JITTER: undefined, CLOUDSYNC_KEEP_LAST: undefined, CLOUDSYNC_CONFIG: undefined };

// Each test starts several processes; at a load of 20 on two cores one takes several seconds.
describe.skipIf(!!CLI_SKIP)("durations on the command line (one grammar)", { timeout: 240_000 }, () => {
  let root: string;
  let before: string[];
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-durations-"));
    // Three backups 1, 11 and 21 days old: older than 30 minutes, younger than 30 months.
    await writeAgedBackups(root, [1, 11, 21]);
    before = filesUnder(root);
    expect(before.length).toBe(6);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("prune --keep-within 30m exits 2 saying m is minutes and months are mo, and deletes nothing", async () => {
    const r = await runCli(["prune", "--from", root, "--keep-last", "1", "--keep-within", "30m"], { env: clean });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe(`cloudsync: --keep-within: ${REFUSED_30M}`);
    expect(r.stdout).toBe("");
    expect(filesUnder(root)).toEqual(before);
  });

  it("CLOUDSYNC_KEEP_WITHIN=30m exits 2 naming the variable, and deletes nothing", async () => {
    const r = await runCli(["prune", "--from", root, "--keep-last", "1"], { env: { ...clean, CLOUDSYNC_KEEP_WITHIN: "30m" } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`cloudsync: CLOUDSYNC_KEEP_WITHIN: ${REFUSED_30M}`);
    expect(filesUnder(root)).toEqual(before);
  });

  it("prune reads months as mo", async () => {
    const r = await runCli(["prune", "--from", root, "--keep-last", "1", "--keep-within", "6mo", "--dry-run"], { env: clean });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("(keep within 6mo):");
    expect(r.stdout).toMatch(/within 180d/);
    expect(r.stdout).toContain("dry run: would delete 0 backup(s)");
    expect(filesUnder(root)).toEqual(before);
  });

  it("--keep-within 0 and 0d mean the same: no time rule", async () => {
    const plans: string[] = [];
    for (const zero of ["0", "0d"]) {
      const r = await runCli(["--json", "prune", "--from", root, "--keep-last", "1", "--keep-within", zero, "--dry-run"], { env: clean });
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<{ keep: unknown[]; remove: unknown[] }>();
      expect([doc.keep.length, doc.remove.length]).toEqual([1, 2]);
      plans.push(JSON.stringify({ keep: doc.keep, remove: doc.remove }));
    }
    expect(plans[0]).toBe(plans[1]);
    expect(filesUnder(root)).toEqual(before);
  });

  it("daemon --jitter reads the same grammar: 0d and 1d pass, a bare number is refused with the units", async () => {
    for (const jitter of ["0d", "1d", "1h30m"]) {
      // Accepted: the run stops at the next check, before any schedule, lock or connection.
      const r = await runCli(["daemon", "--jitter", jitter, "--once", "--run-now"], { env: clean });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("cloudsync: --run-now: cannot be combined with --once");
    }
    const bad = await runCli(["daemon", "--jitter", "10", "--once"], { env: clean });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`cloudsync: --jitter: invalid duration "10" (a number needs a unit); ${UNITS}`);
  });

  it("CLOUDSYNC_JITTER reads the same grammar and is named in errors", async () => {
    const ok = await runCli(["daemon", "--once", "--run-now"], { env: { ...clean, CLOUDSYNC_JITTER: "2w" } });
    expect(ok.stderr).toContain("cloudsync: --run-now: cannot be combined with --once");
    const bad = await runCli(["daemon", "--once"], { env: { ...clean, CLOUDSYNC_JITTER: "250ms" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`cloudsync: CLOUDSYNC_JITTER: invalid duration "250ms"; ${UNITS}`);
  });

  it("standby --interval reads the same grammar: 1d passes, 0 and 0s are both too short", async () => {
    const missing = path.join(root, "no-such-identity.txt");
    // Accepted: the run stops at loading the identity, before connecting to anything.
    const ok = await runCli(["standby", "--standby", "mongodb://127.0.0.1:9", "--from-backups", root, "--interval", "1d", "-i", missing], { env: clean });
    expect(ok.code, ok.stderr).toBe(2);
    expect(ok.stderr).toContain(`cloudsync: --identity: cannot read ${missing}`);
    for (const zero of ["0", "0s"]) {
      const r = await runCli(["standby", "--standby", "mongodb://127.0.0.1:9", "--primary", "mongodb://127.0.0.1:9", "--interval", zero], { env: clean });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`cloudsync: --interval: must be at least 1s, got "${zero}"`);
    }
  });

  it("each duration flag's --help points to the one description of the grammar in the README", async () => {
    for (const [command, flag] of [["prune", "--keep-within"], ["daemon", "--jitter"], ["standby", "--interval"]] as const) {
      const r = await runCli([command, "--help"], { env: clean });
      expect(r.code).toBe(0);
      const help = r.stdout.replace(/\s+/g, " ");
      expect(help).toMatch(new RegExp(`${flag} <duration> [^-]*see Durations in the README`));
    }
    const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
    expect(readme.match(/^### Durations$/gm)?.length).toBe(1);
  });
});
