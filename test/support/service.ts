import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";

const runFile = promisify(execFile);

/** What a test service module reports after trying to start its service. */
export interface StartedService {
  /** Environment for the test workers (addresses, credentials, or a SKIP reason variable). */
  readonly env: Record<string, string>;
  /** One line printed at the start of the run: which server is used, or why it is absent. */
  readonly note?: string;
  /** Stops what this module started; absent when nothing was started. */
  readonly stop?: () => Promise<void>;
}

/** A fresh bucket or container name, `cs-<label>-<8 hex>` (label lower-cased and cut to fit), valid on S3, Azure and GCS. */
export function uniqueStoreName(label: string): string {
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40).replace(/^-+|-+$/g, "");
  return `cs-${slug}-${randomBytes(4).toString("hex")}`;
}

/**
 * Watches over a test server process: if this (the test runner's) process dies without its
 * teardown, a detached watchdog ends `child` by PID and removes `dir`. Returns the normal stop:
 * the watchdog is ended first, then `child` gets SIGTERM (SIGKILL after 10 s), then `dir` goes.
 */
export function superviseChild(child: ChildProcess, dir: string): () => Promise<void> {
  const watchdog = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; kill ${child.pid} 2>/dev/null; rm -rf "$0"`, dir], { detached: true, stdio: "ignore" });
  watchdog.unref();
  return async () => {
    try {
      if (watchdog.pid !== undefined) process.kill(watchdog.pid);
    } catch {
      // Already gone.
    }
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
}

/**
 * Watches over servers a `start|stop` script (scripts/s3-server.sh, scripts/docker-daemon.sh)
 * started with `env`: if this (the test runner's) process dies without its teardown, a detached
 * watchdog runs `script stop` with the same environment. Returns the normal stop: the watchdog is
 * ended first, then `script stop` runs (a failure is printed, not thrown), then `dir` goes.
 */
export function superviseScript(script: string, env: NodeJS.ProcessEnv, dir: string, label: string): () => Promise<void> {
  const watchdog = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; exec "$0" stop`, script], { detached: true, stdio: "ignore", env });
  watchdog.unref();
  return async () => {
    try {
      if (watchdog.pid !== undefined) process.kill(watchdog.pid);
    } catch {
      // Already gone.
    }
    await runFile(script, ["stop"], { env }).catch((err: unknown) => console.warn(`${label}: stop failed: ${String(err)}`));
    await rm(dir, { recursive: true, force: true });
  };
}

/** Whether `bin` is a command on PATH. */
export async function onPath(bin: string): Promise<boolean> {
  try {
    await runFile("sh", ["-c", `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
}
