import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/src/config/config.js";
import { assessStatus, readStatus, writeStatus, type DaemonStatus } from "../../runtime/src/daemon/status.js";
import { ConfigError } from "../../runtime/src/errors.js";

const base: DaemonStatus = { format: 1, pid: 1, schedule: "0 3 * * *", intervalSeconds: 86_400, daemonStartedAt: "2026-11-20T00:00:00.000Z" };
const okRun = { startedAt: "2026-11-24T03:00:00.000Z", finishedAt: "2026-11-24T03:00:10.000Z", ok: true, interrupted: false, seconds: 10, stages: [] };

describe("assessStatus", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  it("is healthy after a recent success", () => {
    expect(assessStatus({ ...base, lastSuccessAt: okRun.finishedAt, lastRun: okRun }, now)).toEqual({ healthy: true, level: "healthy", problems: [] });
  });
  it("is healthy before the first run of a recently started daemon", () => {
    expect(assessStatus({ ...base, daemonStartedAt: "2026-11-25T11:00:00.000Z" }, now)).toEqual({ healthy: true, level: "healthy", problems: [] });
  });
  it("is unhealthy when the last run failed, naming the stage", () => {
    const failed = { ...okRun, ok: false, stages: [{ stage: "backup" as const, outcome: "failed" as const, seconds: 1, message: "boom" }] };
    expect(assessStatus({ ...base, lastSuccessAt: "2026-11-24T03:00:10.000Z", lastRun: failed }, now)).toEqual({ healthy: false, level: "failing", problems: ["last run 2026-11-24T03:00:10.000Z failed: backup (boom)"] });
  });
  it("is unhealthy when the last success is older than twice the interval", () => {
    expect(assessStatus({ ...base, lastSuccessAt: "2026-11-23T11:59:59.000Z", lastRun: okRun }, now)).toEqual({
      healthy: false,
      level: "failing",
      problems: ["last success 2026-11-23T11:59:59.000Z is older than twice the schedule interval (2880 min)"],
    });
  });
  it("is unhealthy without any status", () => {
    expect(assessStatus(undefined, now)).toEqual({ healthy: false, level: "failing", problems: ["no status recorded: the daemon has not run with this state directory"] });
  });
});

describe("status.json", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cloudsync-status-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  it("round-trips and leaves no temporary file", async () => {
    const s = { ...base, lastSuccessAt: okRun.finishedAt, lastRun: okRun };
    await writeStatus(join(dir, "state"), s);
    expect(await readStatus(join(dir, "state"))).toEqual(s);
    expect(await readdir(join(dir, "state"))).toEqual(["status.json"]);
  });
  it("is undefined when missing and a ConfigError when not a status file", async () => {
    expect(await readStatus(dir)).toBeUndefined();
    await writeFile(join(dir, "status.json"), "{}");
    await expect(readStatus(dir)).rejects.toBeInstanceOf(ConfigError);
  });
  it("defaults to CLOUDSYNC_STATE_DIR, else XDG_STATE_HOME/cloudsync", () => {
    const stateDir = (env: NodeJS.ProcessEnv): string => loadConfig({ env }).daemon.stateDir;
    expect(stateDir({ CLOUDSYNC_STATE_DIR: "/s", XDG_STATE_HOME: "/x" })).toBe("/s");
    expect(stateDir({ XDG_STATE_HOME: "/x" })).toBe("/x/cloudsync");
  });
});
