// Issue 9 item 3, through the real `cloudsync` process: `latest` is the newest backup. When its
// manifest is unreadable, or its data object has no manifest at all, restore and verify refuse with
// exit 4 naming it and why, and say which id to give instead; nothing is restored. Naming the older
// backup by id still works.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { manifestKeyFor } from "../../runtime/src/manifest/manifest.js";
import { CLI_SKIP, filesUnder, runCli } from "../support/cli.js";
import { keysAndArchive, SLOW } from "../retention/helpers.js";

if (CLI_SKIP) console.warn(`skipping restore latest process tests: ${CLI_SKIP}`);

describe.skipIf(!!CLI_SKIP)("restore latest never silently restores an older backup", () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let archive: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-latest-"));
    ({ identity, recipient, archive } = await keysAndArchive(work, 256 << 10, 3));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /**
   * Waits for the next wall-clock second. Backup ids have one-second resolution, and an object
   * whose manifest is missing or unreadable is dated by its id (as late in that second as it could
   * be), so only a backup from a later second is provably newer than it.
   */
  async function nextSecond(): Promise<void> {
    const second = Math.floor(Date.now() / 1000);
    while (Math.floor(Date.now() / 1000) === second) await new Promise((r) => setTimeout(r, 20));
  }

  async function twoBackups(name: string): Promise<{ dest: string; older: string; newer: string; newerKey: string }> {
    const dest = join(work, name);
    const ids: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < 2; i++) {
      if (i > 0) await nextSecond();
      const b = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"]);
      expect(b.code, b.stderr).toBe(0);
      ids.push(b.json<{ id: string; key: string }>());
    }
    return { dest, older: ids[0]!.id, newer: ids[1]!.id, newerKey: ids[1]!.key };
  }

  it("an unreadable newest manifest: exit 4 naming it, the reason and the older id; nothing restored", async () => {
    const { dest, older, newer } = await twoBackups("damaged");
    writeFileSync(join(dest, manifestKeyFor(newer)), "{bad");
    const url = createLocalDestination(dest).url;
    const target = join(work, "damaged-restored");
    const r = await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", identity]);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      `the latest backup in ${url} is ${newer}, and its manifest manifests/${newer}.json cannot be read: manifest manifests/${newer}.json: not valid JSON (`,
    );
    expect(r.stderr).toContain(
      `latest never falls back to an older backup: to use an older backup, give its id instead of latest; the newest readable one is ${older} (\`cloudsync list --from ${url}\` lists them all)`,
    );
    expect(existsSync(target)).toBe(false);

    const v = await runCli(["verify", "latest", "--from", dest, "-i", identity, "--json"]);
    expect(v.code).toBe(4);
    expect(v.json<{ error: { message: string } }>().error.message).toContain(`the latest backup in ${url} is ${newer}`);

    const byId = await runCli(["restore", older, "--from", dest, "--to", `dir://${target}`, "-i", identity]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toContain(`restored ${older} to ${target}`);
  }, SLOW);

  it("a newest data object with no manifest at all: exit 4, the object named; an older such object does not block", async () => {
    const { dest, older, newer, newerKey } = await twoBackups("missing");
    rmSync(join(dest, manifestKeyFor(newer)));
    const url = createLocalDestination(dest).url;
    const target = join(work, "missing-restored");
    const r = await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", identity]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      `the latest backup in ${url} is ${newer}, and its data object ${newerKey} has no manifest (an interrupted backup, or its manifest was lost), so nothing can be checked against it; if a backup is running, wait for it to finish. latest never falls back to an older backup: to use an older backup, give its id instead of latest; the newest readable one is ${older}`,
    );
    expect(existsSync(target)).toBe(false);

    // A manifest-less object older than the newest complete backup is not a candidate for latest.
    await nextSecond();
    const third = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"]);
    const newest = third.json<{ id: string }>().id;
    const ok = await runCli(["restore", "latest", "--from", dest, "--to", `dir://${target}`, "-i", identity]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`restored ${newest} to ${target}`);
    expect(filesUnder(join(dest, "data"))).toContain(newerKey.slice("data/".length));
  }, SLOW);

  it("a damaged manifest older than the newest backup does not block latest", async () => {
    const { dest, older, newer } = await twoBackups("old-damage");
    writeFileSync(join(dest, manifestKeyFor(older)), "{bad");
    const v = await runCli(["verify", "latest", "--from", dest, "-i", identity, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json<{ id: string; ok: boolean }>()).toMatchObject({ id: newer, ok: true });
  }, SLOW);
});
