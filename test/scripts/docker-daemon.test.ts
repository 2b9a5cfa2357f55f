// scripts/docker-daemon.sh on its own: a second private dockerd next to the suite's, started
// twice (idempotent), asked for its status, stopped; and its refusal to delete a directory that
// is not its own. Needs what the suite's daemon needs (root, docker.io).
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { dockerApi } from "../support/docker-api.js";
import { dockerSkipReason } from "../support/docker-service.js";
import { repoRoot } from "../support/paths.js";

const SCRIPT = join(repoRoot, "scripts", "docker-daemon.sh");

function script(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(SCRIPT, args, { env: { ...process.env, ...env } })
    .then((r) => ({ code: 0, ...r }))
    .catch((err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }));
}

describe("scripts/docker-daemon.sh", () => {
  it("refuses to delete a non-empty directory it did not create, and leaves it as it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cloudsync-not-docker-"));
    writeFileSync(join(dir, "precious"), "keep me");
    const r = await script(["stop"], { CLOUDSYNC_DOCKER_DIR: dir });
    expect(r).toEqual({ code: 1, stdout: "", stderr: `docker-daemon: ${dir} is not empty and holds no .cloudsync-docker: not a docker-daemon.sh state directory, refusing to delete it\n` });
    expect(readFileSync(join(dir, "precious"), "utf8")).toBe("keep me");
    rmSync(dir, { recursive: true, force: true });
  });

  it("a wrong command exits 2 with the usage on stderr", async () => {
    const r = await script(["restart"], {});
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([2, "usage: scripts/docker-daemon.sh start|stop|status|env"]);
  });

  const skip = dockerSkipReason();
  it.skipIf(skip !== undefined)(`start is idempotent, status answers, stop ends dockerd by PID, deletes the bridges of its networks and removes the directory${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const parent = mkdtempSync(join(tmpdir(), "cloudsync-docker-script-"));
    const dir = join(parent, "state");
    const env = { CLOUDSYNC_DOCKER_DIR: dir };
    let pid = 0;
    let bridge: string | undefined;
    try {
      const first = await script(["start"], env);
      expect(first).toEqual({ code: 0, stdout: `export DOCKER_HOST=unix://${dir}/docker.sock\n`, stderr: "" });
      pid = Number(readFileSync(join(dir, "dockerd.pid"), "utf8"));
      expect(await script(["start"], env)).toEqual(first);
      expect(Number(readFileSync(join(dir, "dockerd.pid"), "utf8"))).toBe(pid);
      expect(await script(["status"], env)).toEqual({ code: 0, stdout: `running at unix://${dir}/docker.sock\n`, stderr: "" });
      // A subnet of its own: left to pick one, this daemon could take the one the suite's daemon
      // is giving the stack's network at the same moment, and the two bridges' routes would clash.
      const ipam = { Config: [{ Subnet: "10.213.77.0/24" }] };
      const { Id } = await dockerApi(join(dir, "docker.sock")).json<{ Id: string }>("POST", "/networks/create", { Name: "cloudsync-script-net", Driver: "bridge", IPAM: ipam });
      bridge = `br-${Id.slice(0, 12)}`;
      expect((await promisify(execFile)("ip", ["-br", "link", "show", bridge])).stdout).toContain(bridge);
    } finally {
      expect(await script(["stop"], env)).toEqual({ code: 0, stdout: "", stderr: "" });
      rmSync(parent, { recursive: true, force: true });
    }
    expect(existsSync(dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await expect(promisify(execFile)("ip", ["link", "show", bridge!])).rejects.toThrow(/does not exist/);
    expect(await script(["status"], env)).toEqual({ code: 1, stdout: "not running\n", stderr: "" });
  });
});
