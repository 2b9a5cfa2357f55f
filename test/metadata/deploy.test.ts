// Deploy artefacts: the pure builders checked exactly, then the bundle started exactly as the
// unit's ExecStart would start it (env file, working directory, node flags), outside the
// repository so nothing resolves from the repo's node_modules.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  API_KEY_PLACEHOLDER,
  buildServerBundle,
  deploySteps,
  execStartLine,
  MALLOC_ENV,
  renderEnvFile,
  renderProxySite,
  renderSystemdUnit,
  resolveHostOptions,
  SERVER_ENTRY,
} from "../../runtime/src/metadata/deploy/index.js";
import { ConfigError, exitCodeFor } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import { freePort } from "../support/mongo-service.js";
import { repoRoot, tempDir } from "../support/paths.js";
import { API_KEY, model, parseEnvFile, signedPost, unitSettings } from "./helpers.js";

describe("deploy builders", () => {
  it("renders a non-root unit with MemoryMax, restart and the server entry of the live release", () => {
    const unit = renderSystemdUnit({ port: 9000, memoryMaxMiB: 80 });
    const lines = unit.split("\n");
    for (const want of [
      "User=cloudsync-metadata",
      "Group=cloudsync-metadata",
      "WorkingDirectory=/opt/cloudsync-metadata/current",
      "Environment=MALLOC_MMAP_THRESHOLD_=8192",
      "EnvironmentFile=/etc/cloudsync-metadata/env",
      `ExecStart=/usr/bin/node --max-semi-space-size=1 --max-old-space-size=24 --v8-pool-size=1 /opt/cloudsync-metadata/current/${SERVER_ENTRY}`,
      "Restart=on-failure",
      "MemoryMax=80M",
      "MemoryHigh=60M",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ReadWritePaths=/var/lib/cloudsync-metadata",
      "WantedBy=multi-user.target",
    ]) expect(lines).toContain(want);
    expect(unit).not.toMatch(/^User=root$/m);
    expect(() => renderSystemdUnit({ user: "root" })).toThrow("deploy option user: the server must not run as root");
    expect(() => renderSystemdUnit({ appDir: "/opt/my app" })).toThrow("deploy option appDir");
    expect(() => renderSystemdUnit({ memoryMaxMiB: 8 })).toThrow("deploy option memoryMaxMiB");
  });

  it("a bad deploy option is a ConfigError naming it (exit 2), not an unexpected failure (exit 1)", () => {
    const thrown = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        return err;
      }
      throw new Error("did not throw");
    };
    for (const [err, field] of [
      [thrown(() => renderSystemdUnit({ user: "root" })), "deploy option user"],
      [thrown(() => renderProxySite({ domain: "bad domain" })), "deploy option domain"],
      [thrown(() => deploySteps({ stagingDir: "relative", releaseId: "x" })), "deploy option stagingDir"],
      [thrown(() => renderEnvFile({ apiKey: new Secret("has space in it 0123456789") })), "deploy option apiKey"],
    ] as const) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect(exitCodeFor(err)).toBe(2);
    }
  });

  it("renders the env file as a template, or with the key (never another way)", () => {
    expect(renderEnvFile({ port: 9000 })).toBe(`# cloudsync metadata server environment (mode 0640, root:cloudsync-metadata); contains the push secret
CLOUD_SYNC_API_KEY=${API_KEY_PLACEHOLDER}
METADATA_DB=/var/lib/cloudsync-metadata/metadata.sqlite
METADATA_HOST=127.0.0.1
METADATA_PORT=9000
METADATA_DOCS_DIR=/var/lib/cloudsync-metadata/docs
# The reverse proxy on loopback sets X-Forwarded-For; per-client rate limits key on it.
METADATA_TRUST_PROXY=loopback
NODE_ENV=production
`);
    expect(renderEnvFile({ apiKey: API_KEY })).toContain(`\nCLOUD_SYNC_API_KEY=${API_KEY.reveal()}\n`);
    expect(() => renderEnvFile({ apiKey: new Secret("has space in it 0123456789") })).toThrow("deploy option apiKey");
  });

  it("renders a Caddy site that proxies to loopback without adding CORS", () => {
    const site = renderProxySite({ domain: "jeffreysanford.us", port: 9000 });
    expect(site).toContain("jeffreysanford.us {\n");
    expect(site).toContain("\treverse_proxy 127.0.0.1:9000 {\n");
    expect(site).toContain("\t\tmax_size 1MiB\n");
    expect(site.toLowerCase()).not.toContain("access-control");
    expect(() => renderProxySite({ domain: "bad domain" })).toThrow("deploy option domain");
  });

  it("lists idempotent remote steps; the privileged variant creates the user, installs the unit and checks health", () => {
    const steps = deploySteps({ stagingDir: "/tmp/stage", releaseId: "abc123", port: 9000 });
    expect(steps[0]).toBe(
      'missing=""; for f in /tmp/stage/bundle/package.json /tmp/stage/env /tmp/stage/cloudsync-metadata.service; do [ -f "$f" ] || missing="$missing $f"; done; if [ -n "$missing" ]; then echo "cloudsync-metadata: staged file(s)$missing missing: /tmp/stage was cleaned after the upload; stage the release again (docs/INFRA.md, metadata server)" >&2; false; fi',
    );
    expect(steps[1]).toMatch(/^if \[ -x \/usr\/bin\/node \]; then \/usr\/bin\/node -e ".*" \/tmp\/stage\/bundle\/package.json; else echo "cloudsync-metadata: \/usr\/bin\/node is not an executable on this host; .*" >&2; false; fi$/);
    expect(steps[2]).toBe("id -u cloudsync-metadata >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/cloudsync-metadata --no-create-home --shell /usr/sbin/nologin cloudsync-metadata");
    expect(steps).toContain("install -m 0644 /tmp/stage/cloudsync-metadata.service /etc/systemd/system/cloudsync-metadata.service");
    expect(steps).toContain("systemctl daemon-reload && systemctl enable cloudsync-metadata && systemctl restart cloudsync-metadata");
    expect(steps.some((s) => s.includes("http://127.0.0.1:9000/healthz"))).toBe(true);
    expect(steps.join("\n")).not.toMatch(/(?<![.\w])exit\b/);
    const sudo = deploySteps({ stagingDir: "/tmp/stage", releaseId: "abc123", sudo: true });
    expect(sudo.slice(0, 2)).toEqual(steps.slice(0, 2)); // the checks only read the staged files: never through sudo
    expect(sudo[2]?.startsWith("sudo sh -c 'id -u")).toBe(true);
    const plain = deploySteps({ stagingDir: "/tmp/stage", releaseId: "abc123", privileged: false, startWith: "none" });
    expect(plain.join("\n")).not.toMatch(/useradd|systemctl|sudo|\/etc\/systemd|-o cloudsync/);
    expect(() => deploySteps({ stagingDir: "relative", releaseId: "x" })).toThrow("deploy option stagingDir");
    expect(() => deploySteps({ stagingDir: "/s", releaseId: "a;rm -rf /" })).toThrow("deploy option releaseId");
  });
});

const dist = existsSync(path.join(repoRoot, SERVER_ENTRY));
if (!dist) console.warn(`deploy bundle tests skipped: ${SERVER_ENTRY} is missing; run \`npm run build\` first`);

describe.skipIf(!dist)(`the server bundle${dist ? "" : " (skipped: dist/ missing, run npm run build)"}`, () => {
  const tmp = tempDir("meta-bundle");
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill("SIGKILL");
    tmp.cleanup();
  });

  it("holds only the server's modules and runtime dependencies, installs with the local steps, and starts exactly as ExecStart", async () => {
    const bundle = await buildServerBundle(path.join(tmp.dir, "stage", "bundle"));
    expect(bundle.dependencies).toEqual({ "better-sqlite3": "^13.2.0", fastify: "^5.12.8" });
    expect(bundle.nodeVersion).toBe(process.versions.node);
    expect(bundle.platform).toBe(`${process.platform}-${process.arch}`);
    expect(JSON.parse(readFileSync(path.join(bundle.dir, "package.json"), "utf8")).builtWith).toEqual({ node: process.versions.node, platform: `${process.platform}-${process.arch}` });
    expect(bundle.files).toContain(SERVER_ENTRY);
    expect(bundle.files).toContain("package.json");
    expect(bundle.files.some((f) => /^node_modules\/(mongodb|@aws-sdk|@pulumi|openpgp)\//.test(f))).toBe(false);
    expect(bundle.files.some((f) => f.includes("metadata/sync") || f.includes("mongo-source"))).toBe(false);
    expect(bundle.files).toContain("node_modules/better-sqlite3/prebuilds/linux-x64.node");
    expect(bundle.files.filter((f) => /better-sqlite3\/(build\/(?!Release\/better_sqlite3\.node$)|prebuilds\/(darwin|win32)|deps\/|src\/)/.test(f))).toEqual([]);
    expect((await buildServerBundle(path.join(tmp.dir, "again"))).releaseId).toBe(bundle.releaseId);

    const port = await freePort();
    const host = { appDir: `${tmp.dir}/app`, dataDir: `${tmp.dir}/data`, envFile: `${tmp.dir}/etc/env`, port, nodePath: process.execPath };
    execFileSync("sh", ["-c", `cat > ${tmp.dir}/stage/env`], { input: renderEnvFile({ ...host, apiKey: API_KEY }) });
    for (const step of deploySteps({ ...host, stagingDir: `${tmp.dir}/stage`, releaseId: bundle.releaseId, privileged: false, startWith: "none" })) execFileSync("sh", ["-c", step]);
    // A second run of the same release changes nothing and still succeeds.
    for (const step of deploySteps({ ...host, stagingDir: `${tmp.dir}/stage`, releaseId: bundle.releaseId, privileged: false, startWith: "none" })) execFileSync("sh", ["-c", step]);

    const unit = unitSettings(renderSystemdUnit(host));
    // Environment= first, then the env file, whose variables win as under systemd.
    const env = { ...parseEnvFile(unit.ENVIRONMENT as string), ...parseEnvFile(readFileSync(unit.ENVIRONMENTFILE as string, "utf8")) };
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe(MALLOC_ENV.MALLOC_MMAP_THRESHOLD_);
    const [exe, ...args] = (unit.EXECSTART as string).split(" ");
    expect(unit.EXECSTART).toBe(execStartLine(resolveHostOptions(host)));
    child = spawn(exe as string, args, { cwd: unit.WORKINGDIRECTORY, env: { ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      child?.stderr?.on("data", (c: Buffer) => (err += c.toString()));
      child?.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child?.once("exit", (code) => reject(new Error(`bundle exited ${code}: ${err}`)));
    });
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok", version: 0 });
    expect((await signedPost(url, { models: [model(1)] })).status).toBe(200);
    expect(await (await fetch(`${url}/api/models/model-00001`)).json()).toEqual(model(1));
    expect(await (await fetch(`${url}/docs/METADATA_API.md`)).text()).toContain("X-Cloudsync-Signature");
    expect(existsSync(`${tmp.dir}/data/metadata.sqlite`)).toBe(true);
  });

  it("the deploy refuses a host node of another major than the bundle's, naming both versions, before changing anything", async () => {
    const stage = path.join(tmp.dir, "other-major");
    const bundle = await buildServerBundle(path.join(stage, "bundle"));
    // The bundle as another machine would have built it: with a node two majors away from this host's.
    const hostMajor = Number(process.versions.node.split(".")[0]);
    const built = `${hostMajor - 2}.19.0`;
    const pkgFile = path.join(bundle.dir, "package.json");
    writeFileSync(pkgFile, readFileSync(pkgFile, "utf8").replace(`"node": "${process.versions.node}"`, `"node": "${built}"`));
    const host = { appDir: `${stage}/app`, dataDir: `${stage}/data`, envFile: `${stage}/etc/env`, nodePath: process.execPath };
    execFileSync("sh", ["-c", `cat > ${stage}/env`], { input: renderEnvFile({ ...host, apiKey: API_KEY }) });
    const [, check] = deploySteps({ ...host, stagingDir: stage, releaseId: bundle.releaseId, privileged: false, startWith: "none" });
    const r = spawnSync("sh", ["-c", check as string], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `cloudsync-metadata: the bundle was built with Node ${built} and its native addon (better-sqlite3) is for Node ${hostMajor - 2}, but ${process.execPath} on this host is Node ${process.versions.node}; install Node ${hostMajor - 2} on the host (deploy option nodePath names its binary) or build the bundle with Node ${hostMajor}\n`,
    );
    expect(existsSync(`${stage}/app`)).toBe(false);

    const missing = deploySteps({ ...host, nodePath: `${stage}/no/node`, stagingDir: stage, releaseId: bundle.releaseId, privileged: false, startWith: "none" })[1];
    const m = spawnSync("sh", ["-c", missing as string], { encoding: "utf8" });
    expect(m.status).toBe(1);
    expect(m.stderr).toBe(`cloudsync-metadata: ${stage}/no/node is not an executable on this host; install there the Node major the bundle was built with (builtWith.node in its package.json) or set the deploy option nodePath\n`);
  });

  it("the deploy refuses a bundle built on another platform (its native addon), naming both, before changing anything", async () => {
    const stage = path.join(tmp.dir, "other-platform");
    const bundle = await buildServerBundle(path.join(stage, "bundle"));
    const here = `${process.platform}-${process.arch}`;
    const other = process.arch === "arm64" ? "linux-x64" : "linux-arm64";
    const pkgFile = path.join(bundle.dir, "package.json");
    writeFileSync(pkgFile, readFileSync(pkgFile, "utf8").replace(`"platform": "${here}"`, `"platform": "${other}"`));
    const host = { appDir: `${stage}/app`, dataDir: `${stage}/data`, envFile: `${stage}/etc/env`, nodePath: process.execPath };
    execFileSync("sh", ["-c", `cat > ${stage}/env`], { input: renderEnvFile({ ...host, apiKey: API_KEY }) });
    const steps = deploySteps({ ...host, stagingDir: stage, releaseId: bundle.releaseId, privileged: false, startWith: "none" });
    const r = spawnSync("sh", ["-c", ["set -e", ...steps].join("\n")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`cloudsync-metadata: the bundle was built on ${other} and its native addon (better-sqlite3) is for that platform, but this host is ${here}; build the bundle on a ${here} machine\n`);
    expect(existsSync(`${stage}/app`)).toBe(false);
  });

  it("the deploy stops, naming the files, when the staging directory was cleaned after the upload", async () => {
    const stage = path.join(tmp.dir, "cleaned");
    await buildServerBundle(path.join(stage, "bundle"));
    const host = { appDir: `${stage}/app`, dataDir: `${stage}/data`, envFile: `${stage}/etc/env`, nodePath: process.execPath };
    // The upload happened (bundle/), then a cleaner removed the env file.
    const steps = deploySteps({ ...host, stagingDir: stage, releaseId: "r1", privileged: false, startWith: "none" });
    const r = spawnSync("sh", ["-c", ["set -e", ...steps].join("\n")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`cloudsync-metadata: staged file(s) ${stage}/env missing: ${stage} was cleaned after the upload; stage the release again (docs/INFRA.md, metadata server)\n`);
    expect(existsSync(`${stage}/app`)).toBe(false);
  });
});
