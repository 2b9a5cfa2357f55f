/**
 * The `cloud` stack's metadata server deployed by a real Pulumi engine (scripts/build-pulumi.sh)
 * through `@pulumi/command`'s provider over SSH to a test sshd on 127.0.0.1, as an unprivileged
 * sudoer: first deploy, a redeploy with a new bundle (the defect where the replaced deploy step's
 * delete disabled the service after the new one started it), a change of the env file only, and
 * `destroy`, which stops the service. The bucket of the same stack is the B2 dynamic provider
 * pointed at the suite's S3 server.
 *
 * Runs only where it cannot touch a real installation: as root (useradd, sudoers), on a machine
 * without systemd as PID 1 (so no real unit of that name can exist), and with the command
 * provider installed in the engine's PULUMI_HOME. The Go module proxy does not serve
 * github.com/pulumi/pulumi-command/provider, so no project script can build that provider; on a
 * machine where it is installed (`pulumi plugin install resource command <version> --file …`)
 * the test runs, elsewhere it skips naming it. systemd's part is played by
 * test/support/systemctl-standin.sh, first on the sudoer's secure_path only: it starts the
 * installed unit's ExecStart as its User with its EnvironmentFile, and logs every call in order.
 */
import { execSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../runtime/src/secret.js";
import { model, signedPost } from "../metadata/helpers.js";
import { freePort } from "../support/mongo-service.js";
import { repoRoot, tempDir } from "../support/paths.js";
import { deleteTestBucket, s3SkipReason } from "../support/s3-service.js";
import { sshdUnavailable, startSshd, type TestSshd } from "../support/sshd.js";
import { engineSkip, needs, project as engineProject, type EngineProject } from "./engine.js";

const USER = "csmeta-engine";
const SERVICE = "cloudsync-metadata";
/** What the deploy installs on the host with the component's default host options. */
const HOST_PATHS = ["/opt/cloudsync-metadata", "/var/lib/cloudsync-metadata", "/etc/cloudsync-metadata", `/etc/systemd/system/${SERVICE}.service`, `/etc/caddy/sites/${SERVICE}.caddy`, "/var/lib/cloudsync-deploy"];

const reason =
  engineSkip ??
  needs(["command"]) ??
  sshdUnavailable() ??
  (s3SkipReason() ? `no S3 server: ${s3SkipReason()}` : undefined) ??
  (existsSync("/run/systemd/system") ? "systemd runs here as PID 1: this test installs a unit, a system user and files under /opt, /etc and /var/lib, so it runs only on a machine without systemd (a container, CI)" : undefined) ??
  (HOST_PATHS.some((p) => existsSync(p)) ? `a metadata server is already installed here (${HOST_PATHS.filter((p) => existsSync(p)).join(", ")})` : undefined) ??
  (!existsSync("/usr/bin/sudo") ? "/usr/bin/sudo is absent (apt-get install -y sudo)" : undefined);
if (reason) console.warn(`real-engine metadata deploy test skipped: ${reason}`);

describe.skipIf(reason !== undefined)(`metadata server deployed over SSH by the real engine${reason ? ` (skipped: ${reason})` : ""}`, () => {
  const tmp = tempDir("engine-meta");
  const state = path.join(tmp.dir, "systemctl");
  const sudoers = `/etc/sudoers.d/${USER}`;
  const bucket = `cs-engine-meta-${process.pid}-${Date.now().toString(36)}`;
  let server: TestSshd;
  let project: EngineProject;
  let port = 0;
  const url = (): string => `http://127.0.0.1:${port}`;
  const calls = (): string[] => (existsSync(path.join(state, "calls.log")) ? readFileSync(path.join(state, "calls.log"), "utf8").trim().split("\n") : []);
  const pid = (): string => readFileSync(path.join(state, `${SERVICE}.pid`), "utf8").trim();
  const healthy = async (): Promise<unknown> => {
    for (let i = 0; i < 100; i++) {
      try {
        return await (await fetch(`${url()}/healthz`)).json();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`${url()}/healthz did not answer`);
  };

  beforeAll(async () => {
    server = await startSshd(tmp.dir, USER);
    // A real sudoer, whose secure_path puts the systemctl stand-in first (a wrapper that fixes
    // its state directory, since sudo resets the environment).
    mkdirSync(path.join(tmp.dir, "bin"));
    writeFileSync(path.join(tmp.dir, "bin/systemctl"), `#!/bin/sh\nSYSTEMCTL_STANDIN_STATE='${state}' exec '${path.join(repoRoot, "test/support/systemctl-standin.sh")}' "$@"\n`, { mode: 0o755 });
    writeFileSync(sudoers, `Defaults:${USER} secure_path="${tmp.dir}/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n${USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
    mkdirSync(state);
    port = await freePort();

    // A project of its own, with a copy of the compiled program, so that a changed bundle is
    // this test's own (the bundle is built from the program's repository root).
    project = engineProject("cloud", { copyProgram: true });
  }, 120_000);

  afterAll(async () => {
    try {
      execSync(`${tmp.dir}/bin/systemctl stop ${SERVICE}`, { stdio: "ignore" });
    } catch {
      // not running
    }
    rmSync(sudoers, { force: true });
    for (const p of HOST_PATHS) rmSync(p, { recursive: true, force: true });
    try {
      execSync(`userdel ${SERVICE}`, { stdio: "ignore" });
    } catch {
      // never created
    }
    await server?.stop();
    // The bucket is retained by `destroy` by design; the test removes it.
    await deleteTestBucket(bucket).catch(() => undefined); // never created
    project?.cleanup();
    tmp.cleanup();
  }, 120_000);

  it("deploys, redeploys a new bundle, changes only the env file, and destroy stops it", { timeout: 1_200_000 }, async () => {
    const p = project;
    const ok = (args: string[], stdin?: string): string => {
      const r = p.pulumi(args, stdin);
      expect(r.status, `pulumi ${args.join(" ")}:\n${r.out}`).toBe(0);
      return r.out;
    };
    const set = (key: string, value: string, secret = false): string => ok(["config", "set", ...(secret ? ["--secret"] : []), `cloudsync:${key}`, value, "-s", "cloud"]);
    ok(["stack", "init", "cloud", "--secrets-provider", "passphrase"]);
    set("b2Endpoint", process.env.S3_TEST_ENDPOINT!);
    set("b2Region", process.env.S3_TEST_REGION ?? "us-east-1");
    set("b2AdminKeyId", process.env.S3_TEST_ACCESS_KEY!, true);
    set("b2AdminKey", process.env.S3_TEST_SECRET_KEY!, true);
    set("bucketName", bucket);
    // Ceph RGW 16 (Debian 12) has no bucket-encryption API (engine-cloud.test.ts probes it); the
    // bucket is not this test's subject, and no policy pack is loaded here.
    set("bucketEncryption", "none");
    set("metadataHost", "127.0.0.1");
    set("metadataDomain", "metadata.cloudsync.test");
    set("sshUser", USER);
    set("sshPort", String(server.port));
    set("metadataPort", String(port));
    set("metadataNodePath", process.execPath);
    ok(["config", "set", "--secret", "cloudsync:sshPrivateKey", "-s", "cloud"], server.privateKey);
    const key1 = "engine-test-key-one-0123456789abcdef";
    set("metadataApiKey", key1, true);

    // 1. First deploy: the unit is enabled and started, the API answers and takes a signed push.
    ok(["up", "--yes", "-s", "cloud"]);
    expect(await healthy()).toMatchObject({ status: "ok" });
    expect(calls()).toEqual(["daemon-reload", `enable ${SERVICE}`, `restart ${SERVICE}`, "reload caddy"]);
    expect((await signedPost(url(), { models: [model(1)] }, { key: new Secret(key1) })).status).toBe(200);
    const release1 = readlinkSync("/opt/cloudsync-metadata/current");
    const pid1 = pid();
    ok(["preview", "-s", "cloud", "--expect-no-changes"]);

    // 2. A new bundle (a changed API document is part of it): the deploy step is replaced, the
    // service restarted on the new release, and never disabled.
    appendFileSync(path.join(p.dir, "docs/METADATA_API.md"), "\n<!-- engine test: a new release -->\n");
    const redeploy = ok(["up", "--yes", "-s", "cloud"]);
    expect(redeploy).toMatch(/metadata-deploy.*replaced|replaced.*metadata-deploy|\+-.*metadata-deploy/s);
    expect(await healthy()).toMatchObject({ status: "ok" });
    expect(readlinkSync("/opt/cloudsync-metadata/current")).not.toBe(release1);
    expect(pid()).not.toBe(pid1);
    expect(calls().filter((c) => c.startsWith("disable"))).toEqual([]);
    expect(await (await fetch(`${url()}/api/models/${model(1).id}`)).json()).toEqual(model(1));

    // 3. Only the env file changes (a new push key): restarted, the new key works, the old does not.
    const key2 = "engine-test-key-two-0123456789abcdef";
    set("metadataApiKey", key2, true);
    const pid2 = pid();
    ok(["up", "--yes", "-s", "cloud"]);
    expect(await healthy()).toMatchObject({ status: "ok" });
    expect(pid()).not.toBe(pid2);
    expect((await signedPost(url(), { models: [model(2)] }, { key: new Secret(key2) })).status).toBe(200);
    expect((await signedPost(url(), { models: [model(3)] }, { key: new Secret(key1) })).status).toBe(401);
    expect(calls().filter((c) => c.startsWith("disable"))).toEqual([]);

    // 4. destroy (the bucket is protected: unprotected first, as docs/INFRA.md says) stops and
    // disables the service; its data stays on the host.
    ok(["state", "unprotect", "--all", "--yes", "-s", "cloud"]);
    ok(["destroy", "--yes", "-s", "cloud"]);
    expect(calls().at(-1)).toBe(`disable --now ${SERVICE}`);
    await expect(fetch(`${url()}/healthz`)).rejects.toThrow();
    expect(existsSync("/var/lib/cloudsync-metadata/metadata.sqlite")).toBe(true);
  });
});
