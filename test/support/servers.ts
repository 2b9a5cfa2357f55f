// The feature × server harness (issue 11 §2). A MongoDB-facing test group declares the server
// features it needs; `onEachServer` runs it once on every test server that has them (jongodb,
// FerretDB, and a real mongod when MONGODB_URI is set) and skips it elsewhere with "needs
// <feature>, which <server> lacks". Each decision is appended to a log the global teardown reads
// to print the feature × server table at the end of the run.
import { appendFileSync, readFileSync } from "node:fs";
import { describe } from "vitest";
import { FERRETDB_GAPS, ferretdbCannotStore, ferretdbSkipReason, ferretdbTestUri } from "./ferretdb-service.js";
import { JONGODB_GAPS, mongoSkipReason } from "./mongo-service.js";

/** A server capability a test can need. */
export type Feature = "catalog" | "validators" | "views" | "timeseries" | "changeStreams" | "transactions" | "oplog" | "snapshotReads";

/** Every feature, in the table's order, with what it means. */
export const FEATURES: Readonly<Record<Feature, string>> = {
  catalog: "catalog (listDatabases, listCollections, create, drop, dbStats)",
  validators: "validators (create/collMod with a validator)",
  views: "views",
  timeseries: "time-series collections",
  changeStreams: "change streams",
  transactions: "transactions",
  oplog: "an oplog (local.oplog.rs)",
  snapshotReads: "snapshot reads (readConcern snapshot at a cluster time)",
};

/** The servers the harness knows. */
export type ServerName = "jongodb" | "FerretDB" | "mongod";

/** One test server: its URI (empty when absent), its features, and why it is absent. */
export interface TestServer {
  readonly name: ServerName;
  readonly uri: string;
  readonly features: ReadonlySet<Feature>;
  /** Why this server is not available in this run; undefined when it is. */
  readonly absent?: string;
  /** What the server lacks compared with mongod, for messages. */
  readonly gaps: string;
}

/** True when `server` has every feature in `needs`. */
export function has(server: TestServer, ...needs: Feature[]): boolean {
  return needs.every((f) => server.features.has(f));
}

/**
 * Why a test needing `needs` cannot run on `server` ("needs views, which FerretDB lacks"), or
 * undefined when it can. An absent server gives its absence reason.
 */
export function lacks(server: TestServer, needs: readonly Feature[]): string | undefined {
  if (server.absent) return server.absent;
  const missing = needs.filter((f) => !server.features.has(f));
  if (missing.length === 0) return undefined;
  return `needs ${missing.map((f) => FEATURES[f]).join(", ")}, which ${server.name} lacks`;
}

/**
 * The raw documents of `raws` that `server` holds as they are. FerretDB refuses or alters some
 * BSON values (`ferretdbCannotStore`); those cases stay on the servers that hold them.
 */
export function storable(server: TestServer, raws: readonly Uint8Array[]): Uint8Array[] {
  return server.name === "FerretDB" ? raws.filter((r) => ferretdbCannotStore(r) === undefined) : [...raws];
}

/** Features of a real mongod from its `hello` (replica set or not) and major version. */
export function mongodFeatures(replicaSet: boolean, major: number): Feature[] {
  const base: Feature[] = ["catalog", "validators", "views", "timeseries"];
  if (!replicaSet) return base;
  return [...base, "changeStreams", "transactions", "oplog", ...(major >= 5 ? (["snapshotReads"] as const) : [])];
}

/** The three servers as the global setup handed them to this worker. */
export function testServers(): TestServer[] {
  const realUri = process.env.MONGODB_TEST_KIND === "real" ? process.env.MONGODB_TEST_URI : undefined;
  const features = (list: string | undefined) => new Set((list ?? "").split(",").filter(Boolean) as Feature[]);
  return [
    {
      name: "jongodb",
      uri: process.env.JONGODB_TEST_URI ?? "",
      features: new Set(),
      absent: process.env.JONGODB_TEST_URI ? undefined : (mongoSkipReason() ?? "jongodb did not start"),
      gaps: JONGODB_GAPS,
    },
    {
      name: "FerretDB",
      uri: ferretdbTestUri() ?? "",
      // The suite's FerretDB is replica set rs0 with a capped local.oplog.rs (ferretdb-service.ts).
      features: new Set<Feature>(["catalog", "oplog"]),
      absent: ferretdbSkipReason(),
      gaps: FERRETDB_GAPS,
    },
    {
      name: "mongod",
      uri: realUri ?? "",
      features: features(process.env.MONGOD_TEST_FEATURES),
      absent: realUri ? undefined : "no real mongod in this run (set MONGODB_URI)",
      gaps: "",
    },
  ];
}

/**
 * Declares `body` once per test server as `describe("<title> on <server>")`, skipped with the
 * reason where the server is absent or lacks one of `needs`. Tests inside that need more than
 * the group ask `lacks(server, [...])` themselves.
 */
export function onEachServer(title: string, needs: readonly Feature[], body: (server: TestServer) => void): void {
  for (const server of testServers()) {
    const why = lacks(server, needs);
    record({ title, server: server.name, needs, skipped: why });
    describe.skipIf(why !== undefined)(`${title} on ${server.name}${why ? ` (skipped: ${why})` : ""}`, () => body(server));
  }
}

interface Decision {
  readonly title: string;
  readonly server: ServerName;
  readonly needs: readonly Feature[];
  readonly skipped?: string;
}

function record(d: Decision): void {
  const log = process.env.CLOUDSYNC_TEST_MATRIX_LOG;
  if (log) appendFileSync(log, `${JSON.stringify(d)}\n`);
}

/**
 * The end-of-run table: for each feature, whether each server has it (a server absent from the
 * run says so), then how many harness groups ran and skipped on each server. Read from the
 * decisions the workers logged to `log`.
 */
export function matrixTable(log: string): string {
  let decisions: Decision[] = [];
  try {
    decisions = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Decision);
  } catch {
    // No harness test ran in this run.
  }
  const servers = testServers();
  const cell = (s: TestServer, f: Feature) => (s.absent ? "-" : s.features.has(f) ? "yes" : "no");
  const rows: string[][] = [["feature", ...servers.map((s) => s.name)]];
  for (const f of Object.keys(FEATURES) as Feature[]) rows.push([f, ...servers.map((s) => cell(s, f))]);
  const seen = new Map<string, Decision>();
  for (const d of decisions) seen.set(`${d.title}\u0000${d.server}`, d);
  const unique = [...seen.values()];
  rows.push([
    "groups run/skipped",
    ...servers.map((s) => {
      const mine = unique.filter((d) => d.server === s.name);
      return `${mine.filter((d) => !d.skipped).length}/${mine.filter((d) => d.skipped).length}`;
    }),
  ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  const absent = servers.filter((s) => s.absent).map((s) => `${s.name}: ${s.absent}`);
  return ["MongoDB feature × server (yes: has it; -: not in this run)", ...lines, ...absent.map((a) => `  absent ${a}`)].join("\n");
}
