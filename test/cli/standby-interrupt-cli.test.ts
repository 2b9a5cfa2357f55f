/**
 * Ctrl-C and SIGTERM stop a `cloudsync standby` pass cleanly (issue 9, items 7 and 12): a real
 * process copying the demo documents from a primary to a standby (full-copy mode: jongodb has no
 * change streams) gets a real signal once documents are arriving. It stops at the next batch,
 * deletes nothing, saves no status for the unfinished pass, exits 130 and says how many documents
 * it had written, which is exactly what the standby then holds.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COLLECTIONS } from "../../runtime/src/demo/collections.js";
import { CLI_SKIP } from "../support/cli.js";
import { insertDemoDocuments, interrupted } from "../support/interrupt.js";
import { mongoSkipReason, mongoTestUri, spawnJongodb, type JongodbProcess } from "../support/mongo-service.js";

const SKIP = CLI_SKIP ?? mongoSkipReason();
if (SKIP) console.warn(`skipping standby interrupt process tests: ${SKIP}`);

/** Large enough that a pass takes seconds, so the signal lands while it writes. */
const SOURCE_BYTES = 12 * 1024 * 1024;

describe.skipIf(!!SKIP)("an interrupted standby pass stops at the next batch and says what it wrote, as a process receiving real signals", () => {
  const db = `standbyint_${process.pid}_${Date.now().toString(36)}`;
  let work: string;
  let standby: JongodbProcess;
  let dst: MongoClient;
  let total = 0;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-standby-interrupt-"));
    const src = new MongoClient(mongoTestUri()!);
    try {
      await src.connect();
      total = await insertDemoDocuments(src, db, SOURCE_BYTES, 8);
    } finally {
      await src.close();
    }
    standby = await spawnJongodb(60_000);
    dst = new MongoClient(standby.uri);
    await dst.connect();
  }, 300_000);
  afterAll(async () => {
    await dst?.close();
    await standby?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("SIGINT during a full-copy pass → exit 130, the written counts named, nothing deleted, no status saved for the unfinished pass", async () => {
    const state = join(work, "standby.json");
    const inStandby = async (): Promise<number[]> => Promise.all(DEMO_COLLECTIONS.map((c) => dst.db(db).collection(c).countDocuments()));
    const arriving = async (): Promise<boolean> => (await inStandby()).some((n) => n > 0);
    const args = ["standby", "--primary", mongoTestUri()!, "--standby", standby.uri, "--state", state, ...DEMO_COLLECTIONS.flatMap((c) => ["--include", `${db}.${c}`]), "--once"];
    const end = await interrupted(args, {}, arriving, "documents arrived in the standby", "SIGINT");
    expect(end.code, end.stderr).toBe(130);
    expect(end.signal).toBeNull();
    expect(end.stdout).not.toMatch(/standby stopped|change\(s\) applied/);
    expect(end.stderr).not.toMatch(/please report/);
    const m = /^cloudsync: standby pass interrupted: (.+) had been written to the standby and are kept, nothing was deleted; the next pass completes it \(the state file still describes the last complete pass\)$/m.exec(end.stderr);
    expect(m, end.stderr).not.toBeNull();
    const said = new Map([...m![1]!.matchAll(/(\d+) documents of ([\w.]+)/g)].map((w) => [w[2]!, Number(w[1])]));
    const held = await inStandby();
    expect(DEMO_COLLECTIONS.map((c) => said.get(`${db}.${c}`) ?? 0)).toEqual(held);
    expect(held.reduce((a, b) => a + b, 0)).toBeLessThan(total);
    // The first pass never completed: no status was saved for it.
    const saved = existsSync(state) ? (JSON.parse(readFileSync(state, "utf8")) as { last?: unknown }) : {};
    expect(saved.last).toBeUndefined();
  }, 300_000);
});
