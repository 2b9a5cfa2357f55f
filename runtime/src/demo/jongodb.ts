/**
 * The demo's embedded MongoDB: jongodb, a small wire-protocol server shipped as the optional npm
 * package `@jongodb/memory-server-bin-linux-x64-gnu` (a native binary for Linux x64 with glibc
 * only, so npm installs it nowhere else). The demo runs the live path (`backup --uri`, restore
 * into MongoDB) on it, and falls back to the archive demo where it cannot run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** The npm package that ships the jongodb binary. */
export const JONGODB_PACKAGE = "@jongodb/memory-server-bin-linux-x64-gnu";

/** Where the jongodb binary is, or why the demo cannot use one. */
export type JongodbLocation = { readonly bin: string } | { readonly reason: string };

/**
 * Finds the jongodb binary: `explicit` when given (it must exist and be executable), else the
 * one in the optional npm package (its package.json's `jongodb.binary` field). Never throws: a
 * platform the package does not exist for, a missing package or a missing binary gives the reason
 * in words a user can act on.
 */
export function locateJongodb(explicit?: string): JongodbLocation {
  if (explicit !== undefined) {
    const bin = path.resolve(explicit);
    return isExecutable(bin) ? { bin } : { reason: `the jongodb binary ${bin} does not exist or is not executable` };
  }
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  if (process.platform !== "linux" || process.arch !== "x64" || !glibc) {
    return { reason: `jongodb ships only for Linux x64 with glibc; this is ${process.platform} ${process.arch}${process.platform === "linux" && !glibc ? " without glibc" : ""}` };
  }
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${JONGODB_PACKAGE}/package.json`);
  } catch {
    return { reason: `the optional package ${JONGODB_PACKAGE} is not installed (npm ci installs it on Linux x64; --omit=optional leaves it out)` };
  }
  const field = (JSON.parse(readFileSync(manifest, "utf8")) as { jongodb?: { binary?: string } }).jongodb?.binary ?? "bin/jongodb";
  const bin = path.join(path.dirname(manifest), field);
  return isExecutable(bin) ? { bin } : { reason: `${JONGODB_PACKAGE} is installed but its binary ${bin} is missing or not executable` };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A running jongodb. */
export interface EmbeddedServer {
  /** `mongodb://127.0.0.1:<port>/`, no credentials. */
  readonly uri: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts jongodb on a free loopback port (port 0: the kernel picks one, so no race with other
 * programs) and resolves once it prints its `JONGODB_URI=` line. Rejects with its last output when
 * it exits first or stays silent for `timeoutMs` (default 20 s). The process is killed when this
 * one exits for any reason (including a second Ctrl-C's process.exit), so no server is left behind.
 */
export async function startJongodb(bin: string, timeoutMs = 20_000): Promise<EmbeddedServer> {
  const child = spawn(bin, ["--host=127.0.0.1", "--port=0"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    if (!running()) return;
    const force = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.kill("SIGTERM");
    await exited;
    clearTimeout(force);
  };
  try {
    const port = await announcedPort(child, timeoutMs);
    // Keep draining its output so a chatty server never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return { uri: `mongodb://127.0.0.1:${port}/`, pid: child.pid ?? -1, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function announcedPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`jongodb printed no JONGODB_URI within ${timeoutMs / 1000} s${tail(err)}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const m = /JONGODB_URI=mongodb:\/\/[^:/]+:(\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`jongodb could not start: ${e.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`jongodb exited (${signal ?? `code ${code}`}) before it was ready${tail(err)}`));
    });
  });
}

function tail(text: string): string {
  const t = text.trim().split("\n").slice(-3).join(" | ");
  return t ? `: ${t.slice(-400)}` : "";
}
