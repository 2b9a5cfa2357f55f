// `npm run bench:rpo [-- --slice 1m --seconds 180 --rate 20]` (node dist/test/bench/rpo.bench.js):
// the recovery point objective of `cloudsync oplog follow` (issue 15 §5). A FerretDB replica set
// of its own takes a steady insert load (`--rate` per second) while the real `cloudsync oplog
// follow --slice <S>` process captures it into a local destination; twice a second the newest
// restorable time (the newest stored slice's last entry) is compared with the newest write. Prints
// the lag's median and maximum against the target "slice length plus upload time". A benchmark,
// not a test: run it on a quiet machine.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient } from "mongodb";
import { parseDuration } from "../../runtime/src/config/duration.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { listSlices } from "../../runtime/src/manifest/slices.js";
import { spawnFerretdb } from "../support/ferretdb-service.js";
import { CLI } from "./harness.js";

/** Runs the installed CLI to the end: exit code, stdout, stderr. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const sliceText = arg("slice", "1m");
const sliceMs = parseDuration(sliceText, { name: "--slice" });
const seconds = Number(arg("seconds", String(Math.ceil((sliceMs * 3) / 1000))));
const rate = Number(arg("rate", "20"));

const server = await spawnFerretdb({ replSet: "rs0", oplogBytes: 64 * 1024 * 1024 });
const work = mkdtempSync(join(tmpdir(), "cloudsync-rpo-"));
const backups = join(work, "backups");
const client = new MongoClient(server.uri);
try {
  await client.connect();
  const identity = join(work, "identity.txt");
  const recipient = (JSON.parse((await cli(["keys", "new", "--out", identity, "--json"])).stdout) as { recipient: string }).recipient;
  const items = client.db("rpo").collection<{ _id: number; at: Date }>("items");
  await items.insertOne({ _id: 0, at: new Date() });
  const base = await cli(["backup", "--uri", server.uri, "--include", "rpo.*", "--oplog", "--to", backups, "-r", recipient]);
  if (base.code !== 0) throw new Error(`base backup failed: ${base.stderr}`);
  const follower = spawn(process.execPath, [CLI, "oplog", "follow", "--uri", server.uri, "--to", backups, "-r", recipient, "--state", join(work, "state.json"), "--slice", sliceText], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  follower.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const dest = createLocalDestination(backups);
  let n = 1;
  let newestWrite = Date.now();
  let writing = true;
  const load = (async () => {
    while (writing) {
      await items.insertOne({ _id: n++, at: new Date() });
      newestWrite = Date.now();
      await sleep(1000 / rate);
    }
  })();
  const lags: number[] = [];
  const started = Date.now();
  // The first slice needs a whole slice length: sampling starts once one exists.
  while (Date.now() - started < seconds * 1000) {
    await sleep(500);
    const slices = await listSlices(dest);
    const newest = slices.at(-1)?.oplog.last;
    if (!newest) continue;
    // The newest restorable point is that entry's second (ts counts seconds): the lag is at least this.
    lags.push(newestWrite - (newest.t * 1000 + 999));
  }
  writing = false;
  await load;
  follower.kill("SIGTERM");
  await new Promise((resolve) => follower.once("exit", resolve));
  const sorted = [...lags].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const max = sorted.at(-1) ?? NaN;
  const slices = await listSlices(dest);
  console.log(`rpo: --slice ${sliceText}, ${rate} inserts/s for ${seconds} s on FerretDB (polled oplog), ${slices.length} slices, ${lags.length} samples`);
  console.log(`rpo: lag of the newest restorable time behind the newest write: median ${(median / 1000).toFixed(1)} s, max ${(max / 1000).toFixed(1)} s (target: slice ${(sliceMs / 1000).toFixed(0)} s + upload)`);
  console.log(`rpo: ${max <= sliceMs + 5000 ? "PASS" : "FAIL"} (max ≤ slice + 5 s)`);
  if (!/polling every/.test(log)) console.log(`rpo: follower log:\n${log}`);
} finally {
  await client.close().catch(() => undefined);
  await server.kill();
  rmSync(work, { recursive: true, force: true });
}
