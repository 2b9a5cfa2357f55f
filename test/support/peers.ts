// Where scripts/build-peers.sh leaves the suite's peers (FerretDB, the MongoDB Database Tools and
// fake-gcs-server),
// and the global-setup entry that hands the tools' paths to the test workers. The versions are
// read from the script itself, so the script stays the one place that names them.
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./mongo-service.js";
import type { StartedService } from "./service.js";

const SCRIPT = path.join(repoRoot(), "scripts", "build-peers.sh");

function pinned(name: string): string {
  const m = new RegExp(`^${name}="([^"]+)"$`, "m").exec(readFileSync(SCRIPT, "utf8"));
  if (!m?.[1]) throw new Error(`${SCRIPT} does not set ${name}`);
  return m[1];
}

/** The FerretDB version the script builds, e.g. `v1.24.2`. */
export const FERRETDB_VERSION = pinned("FERRETDB_VERSION");
/** The MongoDB Database Tools version the script fetches, e.g. `100.7.0`. */
export const MONGO_TOOLS_VERSION = pinned("MONGO_TOOLS_VERSION");

/** The fake-gcs-server version the script builds, e.g. `v1.56.1`. */
export const FAKE_GCS_VERSION = pinned("FAKE_GCS_VERSION");

/** The peers' cache: CLOUDSYNC_PEERS_DIR, else `.cache/peers` in the repository (as in the script). */
export function peersDir(): string {
  return process.env.CLOUDSYNC_PEERS_DIR || path.join(repoRoot(), ".cache", "peers");
}

/** Path of the FerretDB binary the script builds. */
export function ferretdbBin(): string {
  return path.join(peersDir(), `ferretdb-${FERRETDB_VERSION}`, "bin", "ferretdb");
}

/** Path of the fake-gcs-server binary the script builds. */
export function fakeGcsBin(): string {
  return path.join(peersDir(), `fake-gcs-server-${FAKE_GCS_VERSION}`, "bin", "fake-gcs-server");
}

/** The stock tools the script provides (the npm repack has no bsondump). */
export type MongoTool = "mongodump" | "mongorestore";

function toolBin(tool: MongoTool): string {
  return path.join(peersDir(), `mongodb-tools-${MONGO_TOOLS_VERSION}`, "bin", tool);
}

/** Whether `file` exists and is executable. */
export function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why a peer is absent: names it, where it was looked for, and the script that builds it. */
export function peerMissing(peer: string, file: string): string {
  return `${peer} is not built (no ${file}); run scripts/build-peers.sh`;
}

/**
 * Global-setup entry: MONGODUMP_BIN and MONGORESTORE_BIN when both tools are present, else
 * MONGO_TOOLS_SKIP with the reason.
 */
export async function startMongoToolsForTests(): Promise<StartedService> {
  const missing = (["mongodump", "mongorestore"] as const).map(toolBin).find((f) => !executable(f));
  if (missing) {
    const reason = peerMissing(`the MongoDB Database Tools ${MONGO_TOOLS_VERSION}`, missing);
    return { env: { MONGO_TOOLS_SKIP: reason }, note: `mongo tools: ${reason}; tests of the stock tools skip` };
  }
  return {
    env: { MONGODUMP_BIN: toolBin("mongodump"), MONGORESTORE_BIN: toolBin("mongorestore") },
    note: `mongo tools: mongodump and mongorestore ${MONGO_TOOLS_VERSION} from ${path.dirname(toolBin("mongodump"))} (no bsondump: the Go module proxy does not serve mongo-tools)`,
  };
}

/** Path of a stock tool handed by the global setup, or undefined (then `mongoToolsSkipReason()` says why). */
export function mongoToolPath(tool: MongoTool): string | undefined {
  return tool === "mongodump" ? process.env.MONGODUMP_BIN : process.env.MONGORESTORE_BIN;
}

/** Why tests of the stock tools skip, or undefined when both are available. */
export function mongoToolsSkipReason(): string | undefined {
  if (process.env.MONGO_TOOLS_SKIP) return process.env.MONGO_TOOLS_SKIP;
  if (!process.env.MONGODUMP_BIN || !process.env.MONGORESTORE_BIN) return "the MongoDB Database Tools were not handed over (the global setup did not run)";
  return undefined;
}
