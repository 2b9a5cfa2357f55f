// FerretDB for the test suite: a production MongoDB-compatible server (Go, its pure-Go SQLite
// handler), built by scripts/build-peers.sh. Unlike jongodb it has the catalog commands
// (listDatabases, listCollections, create, drop, dbStats, collStats) and unique indexes; it lacks
// validators, views, time-series, collMod, change streams and transactions. The suite's instance
// runs with `--repl-set-name=rs0` and a capped local.oplog.rs, which FerretDB then fills with a
// basic oplog, so the replica-set paths (consistency fallback, --oplog) run on it too.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { BSON, MongoClient, type Document } from "mongodb";
import { freePort, reapOnExit, serverProcess, type JongodbProcess } from "./mongo-service.js";
import { executable, ferretdbBin, FERRETDB_VERSION, peerMissing } from "./peers.js";
import type { StartedService } from "./service.js";

/** How a FerretDB test server is started. */
export interface FerretdbOptions {
  /** `--repl-set-name`: `hello` then reports this replica set. Default: none (a standalone). */
  readonly replSet?: string;
  /** Create a capped local.oplog.rs of this many bytes, which FerretDB then writes its oplog to. */
  readonly oplogBytes?: number;
}

/** A FerretDB process started by the tests; its state directory goes when it is stopped or killed. */
export interface FerretdbProcess extends JongodbProcess {
  readonly dir: string;
}

/** What FerretDB lacks compared with mongod, measured with v1.24.2; used in skip messages. */
export const FERRETDB_GAPS =
  "FerretDB lacks validators, views, time-series, collMod, TTL and partial indexes, change streams, transactions and snapshot reads (it ignores readConcern), and drops the connection on Decimal128, MinKey, MaxKey, JavaScript code and NaN";

/** BSON types FerretDB v1.24.2 cannot decode: it closes the connection on a message holding one. */
const FERRETDB_UNDECODABLE = new Set(["Decimal128", "MinKey", "MaxKey", "Code", "BSONSymbol"]);

/**
 * Why FerretDB v1.24.2 cannot hold the raw document `raw` as it is, or undefined when it can:
 * types it cannot decode, NaN, infinities and -0.0 (stored as 0.0), arrays inside arrays, and
 * field names starting with `$`. Measured by inserting every document of bson-types.ts.
 */
export function ferretdbCannotStore(raw: Uint8Array): string | undefined {
  const doc = BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
  const walk = (value: unknown, inArray: boolean): string | undefined => {
    if (Array.isArray(value)) {
      if (inArray) return "an array inside an array";
      for (const v of value) {
        const why = walk(v, true);
        if (why) return why;
      }
      return undefined;
    }
    if (value === null || typeof value !== "object") return undefined;
    const type = (value as { _bsontype?: string })._bsontype;
    if (type && FERRETDB_UNDECODABLE.has(type)) return `a ${type}`;
    if (type === "Double") {
      const n = (value as { value: number }).value;
      if (!Number.isFinite(n) || Object.is(n, -0)) return `the double ${Object.is(n, -0) ? "-0.0" : String(n)}`;
    }
    if (type) return undefined;
    for (const [k, v] of Object.entries(value as Document)) {
      if (k.startsWith("$") && !("$ref" in (value as Document))) return `the field name ${k}`;
      const why = walk(v, false);
      if (why) return why;
    }
    return undefined;
  };
  return walk(doc, false);
}

/**
 * Starts FerretDB on a free loopback port with its data in a new temporary directory, resolving
 * once it answers `hello` (rejects after `timeoutMs`, default 30 s, with its last output). A
 * watchdog kills it by PID and removes the directory if this process dies without stopping it.
 * Throws when the binary is not built.
 */
export async function spawnFerretdb(opts: FerretdbOptions = {}, timeoutMs = 30_000): Promise<FerretdbProcess> {
  const bin = ferretdbBin();
  if (!executable(bin)) throw new Error(peerMissing(`FerretDB ${FERRETDB_VERSION}`, bin));
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-ferretdb-"));
  const port = await freePort();
  const args = [
    "--handler=sqlite",
    `--sqlite-url=file:${dir}/`,
    `--listen-addr=127.0.0.1:${port}`,
    `--state-dir=${dir}`,
    "--telemetry=disable",
    "--debug-addr=-",
    "--log-level=ERROR",
    ...(opts.replSet ? [`--repl-set-name=${opts.replSet}`] : []),
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let err = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString("utf8")).slice(-2000);
  });
  reapOnExit(child, dir);
  // The replica set has one member, itself; a direct connection skips the driver's discovery.
  const uri = `mongodb://127.0.0.1:${port}/?directConnection=true`;
  const handle = serverProcess(child, uri, exited);
  const cleanUp = async () => {
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  void cleanUp();
  try {
    await untilReady(uri, child, timeoutMs, () => err);
    if (opts.oplogBytes) {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.db("local").createCollection("oplog.rs", { capped: true, size: opts.oplogBytes });
      } finally {
        await client.close();
      }
    }
  } catch (e) {
    await handle.kill();
    throw e;
  }
  return {
    ...handle,
    dir,
    kill: async () => {
      await handle.kill();
      await cleanUp();
    },
    stop: async () => {
      await handle.stop();
      await cleanUp();
    },
  };
}

async function untilReady(uri: string, child: { exitCode: number | null; signalCode: string | null }, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`FerretDB exited (${child.exitCode ?? child.signalCode}) before it was ready: ${output().trim()}`);
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.db("admin").command({ hello: 1 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`FerretDB did not answer hello within ${timeoutMs} ms (${(e as Error).message}): ${output().trim()}`, { cause: e });
    } finally {
      await client.close();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Global-setup entry: FerretDB as replica set rs0 with a 16 MiB oplog (FERRETDB_TEST_URI), or
 * FERRETDB_TEST_SKIP with the reason (not built, or it did not start).
 */
export async function startFerretdbForTests(): Promise<StartedService> {
  try {
    const started = Date.now();
    const server = await spawnFerretdb({ replSet: "rs0", oplogBytes: 16 * 1024 * 1024 });
    return {
      env: { FERRETDB_TEST_URI: server.uri },
      note: `ferretdb: FerretDB ${FERRETDB_VERSION} (sqlite, replica set rs0 with a capped local.oplog.rs) at ${server.uri} (pid ${server.pid}, started in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      stop: () => server.stop(),
    };
  } catch (err) {
    const reason = (err as Error).message;
    return { env: { FERRETDB_TEST_SKIP: reason }, note: `ferretdb: ${reason}; tests on FerretDB skip` };
  }
}

/** The suite's FerretDB URI, or undefined (then `ferretdbSkipReason()` says why). */
export function ferretdbTestUri(): string | undefined {
  return process.env.FERRETDB_TEST_SKIP ? undefined : process.env.FERRETDB_TEST_URI;
}

/** Why tests on FerretDB skip, or undefined when it runs. */
export function ferretdbSkipReason(): string | undefined {
  if (process.env.FERRETDB_TEST_SKIP) return process.env.FERRETDB_TEST_SKIP;
  if (!process.env.FERRETDB_TEST_URI) return "no FerretDB test server (the global setup did not run)";
  return undefined;
}
