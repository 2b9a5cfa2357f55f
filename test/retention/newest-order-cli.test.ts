// Issue 9 item 4, through the real `cloudsync` process: two backups made in the same second whose
// ids sort the other way round from their start times. `list`, `latest` and `prune --keep-last 1`
// must agree on which one is the newest (the later start time), and prune keeps exactly that one.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { addBackup, DAY, SLOW } from "./helpers.js";

if (CLI_SKIP) console.warn(`skipping backup ordering process tests: ${CLI_SKIP}`);

describe.skipIf(!!CLI_SKIP)("one meaning of newest", () => {
  let root: string;
  let first: { id: string; key: string };
  let second: { id: string; key: string };
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-newest-"));
    const second0 = Math.floor((Date.now() - 10 * DAY) / 1000) * 1000;
    // Started 100 ms and 900 ms into the same second: the later one has the smaller random part.
    first = await addBackup(root, new Date(second0 + 100), "ffffff");
    second = await addBackup(root, new Date(second0 + 900), "000000");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("list, latest and prune --keep-last 1 all take the later start time as the newest", async () => {
    const l = await runCli(["list", "--from", root, "--json"]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.json<Array<{ id: string }>>().map((e) => e.id)).toEqual([second.id, first.id]);

    const text = await runCli(["list", "--from", root]);
    expect(text.stdout.split("\n")[1]).toMatch(new RegExp(`^${second.id}\\s`));

    // latest resolves to the same backup (checksum verification needs no identity).
    const v = await runCli(["verify", "latest", "--from", root, "--no-record", "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json<{ id: string; level: string }>()).toMatchObject({ id: second.id, level: "checksum" });

    const dry = await runCli(["prune", "--from", root, "--keep-last", "1", "--keep-within", "1h", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    const rows = dry.stdout.split("\n").filter((line) => line.startsWith(first.id.slice(0, 16)));
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual([second.id, first.id]);

    const p = await runCli(["prune", "--from", root, "--keep-last", "1", "--keep-within", "1h", "--json"]);
    expect(p.code, p.stderr).toBe(0);
    const doc = p.json<{ keep: Array<{ id: string; reasons: string[] }>; deleted: string[] }>();
    expect(doc.keep).toEqual([{ id: second.id, reasons: ["last 1/1"] }]);
    expect(doc.deleted).toEqual([first.id]);
    expect(existsSync(path.join(root, second.key))).toBe(true);
    expect(existsSync(path.join(root, first.key))).toBe(false);
  }, SLOW);
});
