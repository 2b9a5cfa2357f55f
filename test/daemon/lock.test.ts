import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, readLock } from "../../runtime/src/daemon/lock.js";
import { BusyError } from "../../runtime/src/errors.js";
import { waitFor } from "../support/wait.js";
import { DIST_LOCK, DIST_SKIP } from "./helpers.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudsync-lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("acquireLock", () => {
  it("writes pid, hostname, start time and token, mode 0600, and release removes it", async () => {
    const path = join(dir, "state", "daemon.lock");
    const lock = await acquireLock(path, { now: () => new Date("2026-11-24T03:00:00Z") });
    const held = await readLock(path);
    expect(held).toEqual({ pid: process.pid, hostname: hostname(), startedAt: "2026-11-24T03:00:00.000Z", token: lock.info.token });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await lock.release();
    expect(await readLock(path)).toBeUndefined();
    await lock.release();
  });

  it("refuses a lock held by a live process with BusyError naming the holder", async () => {
    const path = join(dir, "daemon.lock");
    // The test runner's parent is alive and is not this process: a live holder.
    await writeFile(path, JSON.stringify({ pid: process.ppid, hostname: hostname(), startedAt: new Date().toISOString(), token: "other" }));
    const err = await acquireLock(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusyError);
    expect((err as Error).message).toMatch(new RegExp(`^another cloudsync run holds the lock ${path} \\(pid ${process.ppid} on ${hostname()}, since .+\\); wait for it to finish$`));
    expect(JSON.parse(await readFile(path, "utf8")).token).toBe("other");
  });

  it("takes over a lock whose process is gone, with a warning", async () => {
    const path = join(dir, "daemon.lock");
    const child = spawn(process.execPath, ["-e", ""]);
    const pid = child.pid as number;
    await new Promise((r) => child.on("exit", r));
    await writeFile(path, JSON.stringify({ pid, hostname: hostname(), startedAt: new Date().toISOString(), token: "dead" }));
    const warnings: string[] = [];
    const lock = await acquireLock(path, { warn: (l) => warnings.push(l) });
    expect(warnings).toEqual([`warning: taking over stale lock ${path}: its process ${pid} is not running`]);
    expect((await readLock(path))?.token).toBe(lock.info.token);
    await lock.release();
  });

  it("takes over a lock older than the maximum age even if its process lives", async () => {
    const path = join(dir, "daemon.lock");
    await writeFile(path, JSON.stringify({ pid: process.ppid, hostname: hostname(), startedAt: "2026-11-24T00:00:00.000Z", token: "old" }));
    const warnings: string[] = [];
    const lock = await acquireLock(path, { maxAgeMs: 3_600_000, now: () => new Date("2026-11-24T01:00:01Z"), warn: (l) => warnings.push(l) });
    expect(warnings).toEqual([`warning: taking over stale lock ${path}: it is older than 60 min (started 2026-11-24T00:00:00.000Z)`]);
    await lock.release();
  });

  it("takes over a lock naming this very pid (a restarted container's pid 1)", async () => {
    const path = join(dir, "daemon.lock");
    await writeFile(path, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: "previous" }));
    const warnings: string[] = [];
    const lock = await acquireLock(path, { warn: (l) => warnings.push(l) });
    expect(warnings).toEqual([`warning: taking over stale lock ${path}: its pid ${process.pid} is this process, restarted`]);
    await lock.release();
  });

  it("leaves a fresh unreadable lock alone but takes over an old one", async () => {
    const path = join(dir, "daemon.lock");
    await writeFile(path, "");
    await expect(acquireLock(path)).rejects.toBeInstanceOf(BusyError);
    const later = new Date(Date.now() + 11_000);
    const warnings: string[] = [];
    const lock = await acquireLock(path, { now: () => later, warn: (l) => warnings.push(l) });
    expect(warnings).toEqual([`warning: taking over stale lock ${path}: it is unreadable and older than 10 s`]);
    await lock.release();
  });

  it("release does not remove a lock someone else took over", async () => {
    const path = join(dir, "daemon.lock");
    const lock = await acquireLock(path);
    await writeFile(path, JSON.stringify({ pid: process.ppid, hostname: hostname(), startedAt: new Date().toISOString(), token: "successor" }));
    await lock.release();
    expect((await readLock(path))?.token).toBe("successor");
  });

  it.skipIf(DIST_SKIP)(`a lock held by a child killed with SIGKILL is taken over ${DIST_SKIP ? `(skipped: ${DIST_SKIP})` : ""}`, async () => {
    const path = join(dir, "daemon.lock");
    const script = `const { acquireLock } = await import(${JSON.stringify(DIST_LOCK.href)}); await acquireLock(${JSON.stringify(path)}); process.stdout.write("held\\n"); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await waitFor("the child to hold the lock", () => out.includes("held"));
    expect((await readLock(path))?.pid).toBe(child.pid);
    await expect(acquireLock(path)).rejects.toBeInstanceOf(BusyError);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const warnings: string[] = [];
    const lock = await acquireLock(path, { warn: (l) => warnings.push(l) });
    expect(warnings).toEqual([`warning: taking over stale lock ${path}: its process ${child.pid} is not running`]);
    expect((await readLock(path))?.pid).toBe(process.pid);
    await lock.release();
  });
});
