// The installed CLI on a Node older than package.json's engines: a clear message naming the
// version and what to do, exit 2 (and the --json error document), before any module loads.
// Runs where an older Node is at hand (Debian's /usr/bin/node on the development machine).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";

function olderNode(): { bin?: string; why?: string } {
  for (const bin of ["/usr/bin/node", "/usr/local/bin/node"]) {
    if (!existsSync(bin)) continue;
    const version = execFileSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
    const [major, minor] = version.split(".").map(Number) as [number, number];
    if (major < 22 || (major === 22 && minor < 15)) return { bin };
  }
  return { why: "no Node older than 22.15 at /usr/bin/node or /usr/local/bin/node" };
}

const old = olderNode();
describe.skipIf(!old.bin)(`cloudsync on an older Node${old.why ? ` (skipped: ${old.why})` : ""}`, () => {
  it("says which Node it needs and how to get it, and exits 2", () => {
    const r = spawnSync(old.bin!, [CLI, "demo"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^cloudsync: Node\.js 22\.15 or newer is needed \(24 LTS recommended\); this is v\d+\.\d+\.\d+\. Install Node\.js 24 LTS, or, from a clone on Linux x64, run it through scripts\/use-node\.sh/);
  });

  it("prints the --json error document too", () => {
    const r = spawnSync(old.bin!, [CLI, "--json", "list"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "config", exitCode: 2 } });
  });
});
