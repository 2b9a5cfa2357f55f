// `cloudsync prune` run in-process on a real local destination: the plan is printed before
// anything is deleted, --dry-run deletes nothing, --json gives one document, bad flags name
// themselves.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { register } from "../../runtime/src/cli/commands/prune.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { objectKeyFor, type BackupManifest } from "../../runtime/src/manifest/manifest.js";
import { listBackups, writeManifest } from "../../runtime/src/manifest/store.js";
import { runCommand, type CommandRun } from "../support/in-process-cli.js";

const DAY = 86_400_000;

function run(args: string[]): Promise<CommandRun> {
  return runCommand(register, args);
}

describe("cloudsync prune", () => {
  let root: string;
  const ids: string[] = [];
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "cloudsync-prune-cli-"));
    const dest = createLocalDestination(root);
    ids.length = 0;
    for (let i = 0; i < 4; i++) {
      const createdAt = new Date(Date.now() - (i * 10 + 1) * DAY);
      const id = `${createdAt.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-00000${i}`;
      const key = objectKeyFor(id, "gzip", "age-x25519");
      await dest.put(key, Readable.from([Buffer.from(`data ${i}`)]));
      await writeManifest(dest, { format: 1, id, createdAt: createdAt.toISOString(), completedAt: createdAt.toISOString(), namespaces: [], object: { key, size: 6, sha256: "0".repeat(64) } } as unknown as BackupManifest);
      ids.push(id);
    }
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("--dry-run prints the plan and deletes nothing", async () => {
    const r = await run(["prune", "--from", root, "--keep-last", "2", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`plan for ${createLocalDestination(root).url} (keep within 7d):`);
    expect(r.stdout).toMatch(new RegExp(`${ids[0]}\\s+\\S+\\s+6 B\\s+keep\\s+last 1/2, within 7d`));
    expect(r.stdout).toMatch(new RegExp(`${ids[3]}\\s+\\S+\\s+6 B\\s+DELETE\\s+not kept by any rule`));
    expect(r.stdout.trimEnd().endsWith("dry run: would delete 2 backup(s) and 0 orphan(s); nothing was deleted")).toBe(true);
    expect((await listBackups(createLocalDestination(root))).length).toBe(4);
  });

  it("deletes what the plan says and reports it as one JSON document with --json", async () => {
    const r = await run(["--json", "prune", "--from", root, "--keep-last", "1", "--keep-within", "12h"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { dryRun: boolean; deleted: string[]; keep: Array<{ id: string }>; policy: Record<string, unknown> };
    expect(doc.dryRun).toBe(false);
    expect(doc.keep.map((k) => k.id)).toEqual([ids[0]]);
    expect(doc.deleted).toEqual([ids[3], ids[2], ids[1]]);
    expect(doc.policy).toEqual({ keepLast: 1, keepWithin: "12h" });
    expect((await listBackups(createLocalDestination(root))).map((e) => e.manifest.id)).toEqual([ids[0]]);
  });

  it("a bad duration fails with a usage exit code naming the flag", async () => {
    const r = await run(["prune", "--from", root, "--keep-within", "7 days"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--keep-within");
    expect((await listBackups(createLocalDestination(root))).length).toBe(4);
  });
});
