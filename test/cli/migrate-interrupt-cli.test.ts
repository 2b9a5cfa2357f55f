/**
 * Ctrl-C and SIGTERM stop `cloudsync migrate` mid-copy (issue 9, items 7 and 12): a real process
 * copying the demo documents between two real servers gets a real signal once documents are
 * arriving in the target. It stops at the next batch, exits 130 and says how many documents of
 * each collection it had copied, which is exactly what the target then holds.
 */
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COLLECTIONS } from "../../runtime/src/demo/collections.js";
import { CLI_SKIP } from "../support/cli.js";
import { insertDemoDocuments, interrupted } from "../support/interrupt.js";
import { mongoSkipReason, mongoTestUri, spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";

const SKIP = CLI_SKIP ?? mongoSkipReason();
if (SKIP) console.warn(`skipping migrate interrupt process tests: ${SKIP}`);

/** Large enough that the copy takes seconds, so the signal lands while it writes. */
const SOURCE_BYTES = 12 * 1024 * 1024;

describe.skipIf(!!SKIP)("an interrupted migrate stops at the next batch and says what it copied, as a process receiving real signals", () => {
  const db = `migint_${process.pid}_${Date.now().toString(36)}`;
  const include = DEMO_COLLECTIONS.map((c) => `${db}.${c}`);
  let target: JongodbProcess;
  let src: MongoClient;
  let dst: MongoClient;
  let total = 0;

  beforeAll(async () => {
    target = await spawnJongodb(60_000);
    src = new MongoClient(mongoTestUri()!);
    dst = new MongoClient(target.uri);
    await Promise.all([src.connect(), dst.connect()]);
    total = await insertDemoDocuments(src, db, SOURCE_BYTES, 4);
  }, 300_000);
  afterAll(async () => {
    await src?.close();
    await dst?.close();
    await target?.stop();
  });

  const inTarget = async (): Promise<number[]> => Promise.all(DEMO_COLLECTIONS.map((c) => dst.db(db).collection(c).countDocuments()));

  it("SIGTERM once documents are arriving → exit 130, the copied counts named, and the target holds exactly those", async () => {
    const arriving = async (): Promise<boolean> => (await inTarget()).some((n) => n > 0);
    const args = ["migrate", "--from", mongoTestUri()!, "--to", target.uri, ...include.flatMap((ns) => ["--include", ns])];
    const end = await interrupted(args, {}, arriving, "documents arrived in the target", "SIGTERM");
    expect(end.code, end.stderr).toBe(130);
    expect(end.signal).toBeNull();
    expect(end.stdout).toBe("");
    expect(end.stderr).not.toMatch(/please report|copied \d+ collection/);
    const m = /^cloudsync: migrate to .+ interrupted: (.+) had been copied and are kept; run migrate again with --drop to replace the partial collections$/m.exec(end.stderr);
    expect(m, end.stderr).not.toBeNull();
    const said = new Map([...m![1]!.matchAll(/(\d+) documents of ([\w.]+)/g)].map((w) => [w[2]!, Number(w[1])]));
    expect(said.size).toBeGreaterThan(0);
    const held = await inTarget();
    expect(DEMO_COLLECTIONS.map((c) => said.get(`${db}.${c}`) ?? 0)).toEqual(held);
    expect(held.reduce((a, b) => a + b, 0)).toBeLessThan(total);
  }, 300_000);
});
