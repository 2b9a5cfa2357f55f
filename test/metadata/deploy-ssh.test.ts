// The deploy over SSH, for real: an sshd on 127.0.0.1 with a throwaway host key, an unprivileged
// user with key auth, the bundle uploaded, deploySteps run one by one over SSH, then the unit's
// ExecStart run as that user exactly as systemd would (this container has no systemd as PID 1,
// so systemctl is not used: WorkingDirectory, Environment, EnvironmentFile and ExecStart are
// applied by the shell), and the deployed server queried over HTTP. The remote user runs the node running
// this test (deploy option nodePath), whose major the bundle's native addon is built for; a
// system node of another major (/usr/bin/node, when it is one) is refused by the first step.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServerBundle, deploySteps, renderEnvFile, renderSystemdUnit, SERVER_ENTRY } from "../../runtime/src/metadata/deploy/index.js";
import { freePort } from "../support/mongo-service.js";
import { repoRoot, tempDir } from "../support/paths.js";
import { sshdUnavailable, startSshd, type TestSshd } from "../support/sshd.js";
import { API_KEY, model, signedPost, unitSettings } from "./helpers.js";

const USER = "csmeta-deploy";
const reason = sshdUnavailable() ?? (!existsSync(path.join(repoRoot, SERVER_ENTRY)) ? "dist/ missing, run npm run build" : undefined);
if (reason) console.warn(`deploy-over-SSH test skipped: ${reason}`);

describe.skipIf(Boolean(reason))(`deploy over SSH${reason ? ` (skipped: ${reason})` : ""}`, () => {
  const tmp = tempDir("meta-ssh");
  let server: TestSshd | undefined;
  let remotePid = "";
  const home = `/home/${USER}`;
  const ssh = (command: string, input?: Buffer | string): string => server!.ssh(command, input);

  beforeAll(async () => {
    server = await startSshd(tmp.dir, USER);
  });

  afterAll(async () => {
    // Only what this file started, by pid: the deployed server, then sshd.
    if (/^\d+$/.test(remotePid)) {
      try {
        process.kill(Number(remotePid), "SIGKILL");
      } catch {
        // already gone
      }
    }
    await server?.stop();
    tmp.cleanup();
  });

  it("uploads the bundle, runs deploySteps over SSH, starts ExecStart as the unprivileged user, and serves", async () => {
    const bundle = await buildServerBundle(`${tmp.dir}/stage/bundle`);
    const port = await freePort();
    const host = { user: USER, appDir: `${home}/app`, dataDir: `${home}/data`, envFile: `${home}/etc/metadata.env`, port, nodePath: process.execPath };
    writeFileSync(`${tmp.dir}/stage/env`, renderEnvFile({ ...host, apiKey: API_KEY }), { mode: 0o600 });
    writeFileSync(`${tmp.dir}/stage/cloudsync-metadata.service`, renderSystemdUnit(host));
    ssh(`mkdir -p ${home}/stage && tar -C ${home}/stage -xf -`, execFileSync("tar", ["-C", `${tmp.dir}/stage`, "-cf", "-", "."], { maxBuffer: 256 * 1024 * 1024 }));

    const steps = deploySteps({ ...host, stagingDir: `${home}/stage`, releaseId: bundle.releaseId, privileged: false, startWith: "none" });
    for (const step of steps) ssh(step);
    expect(ssh(`readlink ${home}/app/current`).trim()).toBe(`releases/${bundle.releaseId}`);
    expect(ssh(`stat -c %a ${home}/etc/metadata.env`).trim()).toBe("600");
    for (const step of steps) ssh(step); // idempotent

    const unit = unitSettings(readFileSync(`${tmp.dir}/stage/cloudsync-metadata.service`, "utf8"));
    expect(unit.USER).toBe(USER);
    remotePid = ssh(`cd ${unit.WORKINGDIRECTORY} && set -a && ${unit.ENVIRONMENT} && . ${unit.ENVIRONMENTFILE} && set +a && { nohup ${unit.EXECSTART} > ${home}/server.log 2>&1 < /dev/null & echo $!; }`).trim();
    expect(remotePid).toMatch(/^\d+$/);
    const url = `http://127.0.0.1:${port}`;
    let health: unknown;
    for (let i = 0; i < 100 && !health; i++) {
      try {
        health = await (await fetch(`${url}/healthz`)).json();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(health).toEqual({ status: "ok", version: 0 });
    expect(execFileSync("ps", ["-o", "user=", "-p", remotePid], { encoding: "utf8" }).trim()).toBe(USER);
    expect((await signedPost(url, { models: [model(7)] })).status).toBe(200);
    expect(await (await fetch(`${url}/api/models/model-00007`)).json()).toEqual(model(7));
    expect(ssh(`test -f ${home}/data/metadata.sqlite && echo yes`).trim()).toBe("yes");
    expect(ssh(`readlink /proc/${remotePid}/exe`).trim()).toBe(realpathSync(process.execPath));
    expect(ssh(`tr '\\0' '\\n' < /proc/${remotePid}/environ`).split("\n")).toContain(unit.ENVIRONMENT);
  });

  const systemNode = "/usr/bin/node";
  const systemVersion = existsSync(systemNode) ? execFileSync(systemNode, ["-p", "process.versions.node"], { encoding: "utf8" }).trim() : "";
  const sameMajor = systemVersion.split(".")[0] === process.versions.node.split(".")[0];
  const otherReason = !systemVersion ? `${systemNode} is absent` : sameMajor ? `${systemNode} is Node ${systemVersion}, the same major as this test's node` : undefined;
  it.skipIf(Boolean(otherReason))(`refuses the host's ${systemNode} of another major, naming both versions, and installs nothing${otherReason ? ` (skipped: ${otherReason})` : ""}`, async () => {
    const bundle = await buildServerBundle(`${tmp.dir}/stage2/bundle`);
    writeFileSync(`${tmp.dir}/stage2/env`, renderEnvFile({ user: USER, apiKey: API_KEY }), { mode: 0o600 });
    ssh(`mkdir -p ${home}/stage2 && tar -C ${home}/stage2 -xf -`, execFileSync("tar", ["-C", `${tmp.dir}/stage2`, "-cf", "-", "."], { maxBuffer: 256 * 1024 * 1024 }));
    const steps = deploySteps({ user: USER, appDir: `${home}/app2`, dataDir: `${home}/data2`, envFile: `${home}/etc2/env`, stagingDir: `${home}/stage2`, releaseId: bundle.releaseId, privileged: false, startWith: "none" });
    let failure: { status?: number; stderr?: string } = {};
    try {
      ssh(["set -e", ...steps].join("\n")); // one script, as the MetadataServer component runs them
    } catch (err) {
      failure = err as { status?: number; stderr?: string };
    }
    const [b, h] = [process.versions.node.split(".")[0], systemVersion.split(".")[0]];
    expect(failure.status).toBe(1);
    expect(failure.stderr).toBe(
      `cloudsync-metadata: the bundle was built with Node ${process.versions.node} and its native addon (better-sqlite3) is for Node ${b}, but ${systemNode} on this host is Node ${systemVersion}; install Node ${b} on the host (deploy option nodePath names its binary) or build the bundle with Node ${h}\n`,
    );
    expect(ssh(`ls -A ${home}`).split("\n").filter((f) => /^(app2|data2|etc2)$/.test(f))).toEqual([]);
  });
});
