// The common start of the point-in-time tests (test/cli/pitr*.test.ts): a work directory, an age
// key pair, a client of the server under test, a seeded collection and a base backup made with
// --oplog, the capture command, and the wait for the next oplog second.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient, type Document } from "mongodb";
import { expect } from "vitest";
import { runCli, type CliRun } from "./cli.js";
import type { TestServer } from "./servers.js";

/** A test document: numeric ids, any fields. */
export type Item = { _id: number } & Document;

/** Waits until the wall clock is in a later second than `ms` (the oplog's `ts` counts seconds). */
export async function nextSecond(ms = Date.now()): Promise<void> {
  await sleep(1000 - (ms % 1000) + 20);
}

/** What `startPitrSource` set up; `stop` drops `dbs` and the source database and removes `work`. */
export interface PitrSource {
  readonly work: string;
  readonly backups: string;
  readonly identity: string;
  readonly recipient: string;
  readonly client: MongoClient;
  /** The base backup's run (`backup --oplog --json`), exit 0 checked. */
  readonly base: CliRun;
  /** `oplog follow --once --json` (plus `extra`) into `backups`, with a state file in `work`. */
  follow(extra?: string[]): Promise<CliRun>;
  stop(dbs: readonly string[]): Promise<void>;
}

/**
 * Seeds `<src>.items` on `server` with `seed`, then makes the base backup of `<src>.*` with
 * --oplog into `<work>/backups`, encrypted to a new key (`<work>/identity.txt`).
 */
export async function startPitrSource(server: TestServer, src: string, prefix: string, seed: Item[]): Promise<PitrSource> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const backups = join(work, "backups");
  const identity = join(work, "identity.txt");
  const recipient = (await runCli(["keys", "new", "--out", identity, "--json"])).json<{ recipient: string }>().recipient;
  const client = new MongoClient(server.uri);
  await client.connect();
  await client.db(src).collection<Item>("items").insertMany(seed);
  const base = await runCli(["backup", "--uri", server.uri, "--include", `${src}.*`, "--oplog", "--to", backups, "-r", recipient, "--json"]);
  expect(base.code, base.stderr).toBe(0);
  return {
    work,
    backups,
    identity,
    recipient,
    client,
    base,
    follow: (extra = []) => runCli(["oplog", "follow", "--uri", server.uri, "--to", backups, "-r", recipient, "--state", join(work, "state.json"), "--json", "--once", ...extra], { timeoutMs: 60_000 }),
    async stop(dbs) {
      for (const db of [src, ...dbs]) await client.db(db).dropDatabase().catch(() => undefined);
      await client.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
