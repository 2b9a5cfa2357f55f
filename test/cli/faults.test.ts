import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI_SKIP, runCli, spawnCli, filesUnder } from "../support/cli.js";

if (CLI_SKIP) console.warn(`skipping CLI fault tests: ${CLI_SKIP}`);

describe.skipIf(!!CLI_SKIP)("faults, for real", () => {
  let work: string;
  let identity: string;
  let recipient: string;
  let archive: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-faults-"));
    identity = join(work, "identity.txt");
    const made = await runCli(["keys", "new", "--out", identity, "--json"]);
    recipient = made.json<{ recipient: string }>().recipient;
    archive = join(work, "data.archive");
    await pipeline(generateDemoArchive({ targetBytes: 24 << 20, seed: 7 }), createWriteStream(archive));
  });

  it("kill -9 during an upload leaves no manifest, lists nothing new, and the previous backup stays restorable", async () => {
    const dest = join(work, "kill");
    const first = await runCli(["backup", "--from-archive", archive, "--to", dest, "-r", recipient, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const firstId = first.json<{ id: string }>().id;

    // Feed the second backup slowly through stdin so it is surely mid-upload when killed.
    const child = spawnCli(["backup", "--from-archive", "-", "--to", dest, "-r", recipient]);
    // Writes still in flight when the child is killed fail with EPIPE; that is the point.
    child.stdin!.on("error", () => undefined);
    const bytes = readFileSync(archive);
    const chunk = 1 << 20;
    for (let off = 0; off < bytes.length / 2; off += chunk) {
      child.stdin!.write(bytes.subarray(off, off + chunk));
      await new Promise((r) => setTimeout(r, 20));
    }
    // A temporary file in data/ shows the upload is under way.
    const deadline = Date.now() + 10_000;
    while (!readdirSync(join(dest, "data")).some((f) => f.includes(".tmp-")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(join(dest, "data")).some((f) => f.includes(".tmp-"))).toBe(true);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const l = await runCli(["list", "--from", dest, "--json"]);
    expect(l.json<Array<{ id: string }>>().map((e) => e.id)).toEqual([firstId]);
    expect(filesUnder(join(dest, "manifests"))).toEqual([`${firstId}.json`]);
    const v = await runCli(["verify", firstId, "--from", dest, "-i", identity]);
    expect(v.code, v.stderr).toBe(0);
    const target = join(work, "kill-restored");
    expect((await runCli(["restore", firstId, "--from", dest, "--to", `dir://${target}`, "-i", identity])).code).toBe(0);
  });

  describe("a full local disk", () => {
    const mnt = join(tmpdir(), `cloudsync-full-${process.pid}`);
    let mounted = false;
    let notMounted = "";
    beforeAll(() => {
      mkdirSync(mnt, { recursive: true });
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], { stdio: "pipe" });
        mounted = true;
      } catch (err) {
        notMounted = `cannot mount a 2 MiB tmpfs (${(err as Error).message.split("\n")[0]}); needs root`;
        console.warn(`skipping full-disk test: ${notMounted}`);
      }
    });
    afterAll(() => {
      if (mounted) execFileSync("umount", [mnt]);
    });

    it("fails with exit 8 naming the cause, and leaves no partial file", async (ctx) => {
      ctx.skip(!mounted, notMounted);
      const r = await runCli(["backup", "--from-archive", archive, "--to", join(mnt, "backups"), "-r", recipient]);
      expect(r.code).toBe(8);
      expect(r.stderr).toContain("no space left on the device");
      expect(filesUnder(join(mnt, "backups"))).toEqual([]);
    });
  });
});
