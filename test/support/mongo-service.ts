// The MongoDB server for the test suite. With MONGODB_URI set, that server (a real mongod, ideally a
// single-node replica set as in the public CI) is used as is. Without it, the jongodb server that
// ships inside an npm package is started on a free port: it speaks the wire protocol and covers
// CRUD, raw cursors, bulk writes and indexes, but not discovery, drop, validators or change streams,
// so tests needing those ask `needsRealMongod` and skip with the reason printed.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { MongoClient } from "mongodb";
import type { StartedService } from "./service.js";
import { mongodFeatures } from "./servers.js";

/** The repository root, found from this file whether it runs from test/support or dist/test/support. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
    dir = up;
  }
  return dir;
}

/** Path of the jongodb launcher inside its npm package (the package's `jongodb.binary` field). */
export const JONGODB_BIN = path.join(repoRoot(), "node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb");

/** What jongodb lacks compared with mongod, measured on this machine; used in skip messages. */
export const JONGODB_GAPS =
  "jongodb lacks listCollections, listDatabases, dbStats, create/collMod (so no validators or collection options), drop, replica-set commands and change streams, and find ignores projections";

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** A jongodb process started by the tests; `kill()` is SIGKILL (kill -9), `stop()` a clean stop. */
export interface JongodbProcess {
  readonly uri: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Sends SIGKILL and resolves once the process has exited. */
  kill(): Promise<void>;
  /** Sends SIGTERM (SIGKILL after 3 s) and resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a separate jongodb server on a free port, resolving once it has printed its
 * `JONGODB_URI=` line (rejects after `timeoutMs`, default 15 s). Used by the shared harness and by
 * fault tests that kill their own server mid-operation.
 */
export async function spawnJongodb(timeoutMs = 15_000): Promise<JongodbProcess> {
  if (!existsSync(JONGODB_BIN)) throw new Error(`jongodb binary not found at ${JONGODB_BIN}`);
  const port = await freePort();
  const child = spawn(JONGODB_BIN, ["--host=127.0.0.1", `--port=${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  reapOnExit(child);
  const uri = await new Promise<string>((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`jongodb did not print JONGODB_URI within ${timeoutMs} ms: ${err.slice(-500)}`));
    }, timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const m = /JONGODB_URI=(\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`jongodb exited with ${code} before it was ready: ${err.slice(-500)}`));
    });
  });
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return serverProcess(child, uri, exited);
}

/**
 * Starts a detached watchdog that SIGKILLs `child` (and removes `dir`, when given) once this
 * process has died without stopping it, so a killed test run leaves no servers behind. The
 * watchdog ends by itself when the child exits first.
 */
export function reapOnExit(child: ChildProcess, dir?: string): void {
  if (child.pid === undefined) return;
  const watchdog = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 2; done; kill -9 ${child.pid} 2>/dev/null; [ -z "$0" ] || rm -rf "$0"`, dir ?? ""], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
}

/**
 * The handle of a test server process: `kill()` sends SIGKILL, `stop()` SIGTERM with SIGKILL after
 * 3 s; both resolve once `exited` has. Shared by every server the tests start.
 */
export function serverProcess(child: ChildProcess, uri: string, exited: Promise<void>): JongodbProcess {
  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    uri,
    pid: child.pid ?? -1,
    child,
    kill: () => waitExit("SIGKILL"),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill("SIGKILL"), 3000);
      await waitExit("SIGTERM");
      clearTimeout(force);
    },
  };
}

/**
 * Global-setup entry. jongodb is started on a free port (JONGODB_TEST_URI) for the feature ×
 * server harness in every run. The default server of the tests that do not use the harness
 * (MONGODB_TEST_URI) is MONGODB_URI when set (KIND=real, its features from `hello` in
 * MONGOD_TEST_FEATURES), else that jongodb (KIND=jongodb), else MONGO_TEST_SKIP with the reason.
 */
export async function startMongoForTests(): Promise<StartedService> {
  let jongodb: JongodbProcess | undefined;
  let jongodbError = "";
  try {
    jongodb = await spawnJongodb();
  } catch (err) {
    jongodbError = (err as Error).message;
  }
  const stop = jongodb ? () => (jongodb as JongodbProcess).stop() : undefined;
  const jongodbEnv: Record<string, string> = jongodb ? { JONGODB_TEST_URI: jongodb.uri } : {};
  const given = process.env.MONGODB_URI;
  if (given) {
    const features = await realMongodFeatures(given);
    return {
      env: { ...jongodbEnv, MONGODB_TEST_URI: given, MONGODB_TEST_KIND: "real", MONGOD_TEST_FEATURES: features.join(",") },
      note: `mongo: using the server at MONGODB_URI (real mongod: ${features.join(", ")}); every MongoDB test runs${jongodb ? `; jongodb at ${jongodb.uri} for the harness` : ""}`,
      stop,
    };
  }
  if (jongodb) {
    return {
      env: { ...jongodbEnv, MONGODB_TEST_URI: jongodb.uri, MONGODB_TEST_KIND: "jongodb" },
      note: `mongo: MONGODB_URI unset, started jongodb at ${jongodb.uri} (pid ${jongodb.pid}); tests needing a real mongod skip: ${JONGODB_GAPS}`,
      stop,
    };
  }
  const reason = `no MongoDB for the tests: MONGODB_URI unset and jongodb could not start (${jongodbError})`;
  return { env: { MONGO_TEST_SKIP: reason }, note: `mongo: ${reason}` };
}

/** A real mongod's features, from `hello` and `buildInfo`. */
async function realMongodFeatures(uri: string): Promise<string[]> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const admin = client.db("admin");
    const hello = await admin.command({ hello: 1 });
    const build = await admin.command({ buildInfo: 1 });
    return mongodFeatures(typeof hello.setName === "string", Number.parseInt(String(build.version), 10) || 0);
  } finally {
    await client.close();
  }
}

/** The test server's URI, or undefined when no server is available (then `mongoSkipReason()` says why). */
export function mongoTestUri(): string | undefined {
  return process.env.MONGO_TEST_SKIP ? undefined : process.env.MONGODB_TEST_URI;
}

/** Why MongoDB tests skip, or undefined when a server is available. */
export function mongoSkipReason(): string | undefined {
  if (process.env.MONGO_TEST_SKIP) return process.env.MONGO_TEST_SKIP;
  if (!process.env.MONGODB_TEST_URI) return "no MongoDB test server (global setup did not run)";
  return undefined;
}

/** True when the suite runs against jongodb rather than a real mongod. */
export function isJongodb(): boolean {
  return process.env.MONGODB_TEST_KIND === "jongodb";
}

/**
 * Skip condition for a test that needs a real mongod. `reason` says which missing feature the
 * test exercises. Returns `{ skip, message }`; `skip` is true when no server is available or it is
 * jongodb, and `message` is then printed by the caller (and belongs in the test name).
 */
export function needsRealMongod(reason: string): { skip: boolean; message: string } {
  const none = mongoSkipReason();
  if (none) return { skip: true, message: `skipped: ${none}` };
  if (isJongodb()) return { skip: true, message: `skipped: needs a real mongod (set MONGODB_URI) for ${reason}; ${JONGODB_GAPS}` };
  return { skip: false, message: "" };
}
