import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { CLI, CLI_SKIP, runCli } from "../support/cli.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const GNU_TIME = "/usr/bin/time";
const SKIP = CLI_SKIP ?? (existsSync(GNU_TIME) ? undefined : `${GNU_TIME} (Debian package "time") is not installed, so the child's peak RSS cannot be read`);
if (SKIP) console.warn(`skipping backup memory process tests: ${SKIP}`);

// Issue 13 item 3: the CLI's memory must not grow with the input. A generous bound (the target of
// 128 MiB at 1 and 4 GiB is checked by `npm run bench:pipeline`, on a quiet machine): what is
// asserted here is the growth between a small and a five times larger input, which was the size of
// the output when every chunk stayed referenced until the end.
describe.skipIf(!!SKIP)("cloudsync backup's peak RSS does not grow with the input, as processes", () => {
  let work: string;
  let recipient: string;
  const archives: Record<"small" | "large", string> = { small: "", large: "" };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-memory-"));
    archives.small = join(work, "small.archive");
    archives.large = join(work, "large.archive");
    await pipeline(generateDemoArchive({ targetBytes: 24 * MiB, seed: 21 }), createWriteStream(archives.small));
    await pipeline(generateDemoArchive({ targetBytes: 120 * MiB, seed: 22 }), createWriteStream(archives.large));
    const made = await runCli(["keys", "new", "--out", join(work, "identity.txt"), "--json"]);
    expect(made.code, made.stderr).toBe(0);
    recipient = made.json<{ recipient: string }>().recipient;
  }, 120_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Peak RSS in MiB of one `cloudsync backup --from-archive`, from the kernel (GNU time's %M). */
  async function peakMiB(archive: string, compress: string): Promise<number> {
    const dest = join(work, `out-${compress}`);
    rmSync(dest, { recursive: true, force: true });
    const report = join(work, "rss");
    await run(GNU_TIME, ["-f", "%M", "-o", report, process.execPath, CLI, "backup", "--from-archive", archive, "--to", dest, "--compress", compress, "-r", recipient, "--json"], {
      timeout: 240_000,
    });
    return Number(readFileSync(report, "utf8").trim().split("\n").at(-1)) / 1024;
  }

  for (const compress of ["none", "zstd", "gzip"]) {
    it(`--compress ${compress}: five times the input adds less than 40 MiB of peak RSS`, async () => {
      const small = await peakMiB(archives.small, compress);
      const large = await peakMiB(archives.large, compress);
      expect(large - small, `peak RSS ${small.toFixed(1)} MiB for 24 MiB of input, ${large.toFixed(1)} MiB for 120 MiB`).toBeLessThan(40);
      expect(large).toBeLessThan(220);
    }, 300_000);
  }
});
