// The metadata server's memory as the README runs it (`cloudsync serve-metadata`, which becomes
// the deployed serve-main.js) against the unit the deploy renders (issue 13 item 6): private
// memory stays under 32 MiB under read load, and the peak after a flood of unsigned and forged
// 1 MiB pushes stays under the unit's MemoryHigh, so nobody without the key can get the server
// throttled or killed. `npm run bench:api` measures the same with wrk and prints the figures.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environmentLine, MALLOC_ENV } from "../../runtime/src/metadata/deploy/options.js";
import { renderSystemdUnit } from "../../runtime/src/metadata/deploy/systemd-unit.js";
import { CLI_SKIP, spawnCli } from "../support/cli.js";
import { floodPushes } from "../support/push-flood.js";

if (CLI_SKIP) console.warn(`skipping metadata memory tests: ${CLI_SKIP}`);

/** VmHWM and RssAnon of `pid` in MiB. */
function memoryOf(pid: number): { hwm: number; anon: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const mib = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1]) / 1024;
  return { hwm: mib("VmHWM"), anon: mib("RssAnon") };
}

describe.skipIf(!!CLI_SKIP)("the metadata server's memory against its unit", () => {
  let work: string;
  let child: ChildProcess;
  let url: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cloudsync-meta-memory-"));
    child = spawnCli(["serve-metadata", "--db", join(work, "m.sqlite"), "--port", "0", "--read-rate-limit", "off"], { env: { CLOUD_SYNC_API_KEY: "memory-test-key-0123456789abcdef" } });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`serve-metadata exited with ${code} before listening`)));
    });
  });
  afterAll(() => {
    child.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  });

  it("runs with the unit's malloc settings (MALLOC_ENV, its Environment= line)", () => {
    const environ = readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0");
    for (const [k, v] of Object.entries(MALLOC_ENV)) expect(environ).toContain(`${k}=${v}`);
    expect(renderSystemdUnit().split("\n")).toContain(environmentLine());
  });

  it("keeps RssAnon under 32 MiB through 3000 reads, 50 at a time", async () => {
    let left = 3000;
    const reader = async (): Promise<void> => {
      while (left-- > 0) {
        const r = await fetch(`${url}/api/models?limit=50`);
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 50 }, reader));
    const m = memoryOf(child.pid as number);
    console.log(`serve-metadata after 3000 reads: VmHWM ${m.hwm.toFixed(1)} MiB, RssAnon ${m.anon.toFixed(1)} MiB`);
    expect(m.anon).toBeLessThan(32);
  });

  it("peaks under the unit's MemoryHigh through 200 unsigned and forged 1 MiB pushes, 20 at a time from 200 addresses", async () => {
    const high = Number(/^MemoryHigh=(\d+)M$/m.exec(renderSystemdUnit())?.[1]);
    const max = Number(/^MemoryMax=(\d+)M$/m.exec(renderSystemdUnit())?.[1]);
    const statuses = await floodPushes(url, 200, 20);
    // Unsigned pushes are refused from their headers (401); forged ones are read, two at a time, and
    // refused by their MAC (401) or told to come back (503).
    expect(statuses.filter((s) => s !== 401 && s !== 503)).toEqual([]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const m = memoryOf(child.pid as number);
    console.log(`serve-metadata after the flood: VmHWM ${m.hwm.toFixed(1)} MiB (unit MemoryHigh ${high} MiB, MemoryMax ${max} MiB)`);
    // Under MemoryHigh (where the kernel starts throttling), so far under MemoryMax (the kill).
    expect(m.hwm).toBeLessThan(high);
    expect(high).toBeLessThan(max);
  });
});
