// The `local` stack's containers on a real Docker daemon. The Pulumi docker provider cannot be
// built here (the Go module proxy does not serve github.com/pulumi/pulumi-docker/provider), so no
// engine runs this stack. Instead the stack program runs under setMocks (harness.ts), and the
// inputs it registers for its volumes, network and containers are created through the Docker
// Engine API (test/support/docker-spec.ts) on the suite's private dockerd. There is no registry:
// `mongo:8.0.12` and `cloudsync-agent:local` are one imported busybox rootfs with stand-in
// `mongod` and `mongosh` shell scripts, so this checks what Docker does with the spec (names,
// port bindings, uploads and their owners, healthcheck, volumes after destroy), not MongoDB.
import { readFileSync } from "node:fs";
import net from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { local } from "../../stacks/local.js";
import { dockerApi, dockerExec, firstTarEntry, tarArchive, type DockerApi, type TarEntry } from "../support/docker-api.js";
import { dockerSkipReason } from "../support/docker-service.js";
import { containerPlan, createContainer, networkCreateBody, volumeCreateBody } from "../support/docker-spec.js";
import { freePort } from "../support/mongo-service.js";
import { one, runMocked, stackYaml, type MockedRun, type Recorded } from "./harness.js";

const BUSYBOX = "/bin/busybox";
const PASSWORD = "docker-spec:p@ss/only-here";
const KEYFILE = "ZG9ja2VyLXNwZWMta2V5ZmlsZS1vbmx5LWhlcmU=";
const SECRETS = { "cloudsync:mongoRootPassword": PASSWORD, "cloudsync:mongoKeyfile": KEYFILE };
const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
/** The digest harness.ts's mocks give every docker.Image: the agent container's image input. */
const MOCKED_DIGEST = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const AGENT_IMAGE = "cloudsync-agent:local";
const TYPES = { volume: "docker:index/volume:Volume", network: "docker:index/network:Network", container: "docker:index/container:Container" } as const;

/** Why the stand-in image cannot be made: it needs a statically linked busybox (no libc in the image). */
function busyboxSkipReason(): string | undefined {
  let elf: Buffer;
  try {
    elf = readFileSync(BUSYBOX);
  } catch {
    return `no ${BUSYBOX} for the stand-in image (apt-get install busybox-static)`;
  }
  // An ELF64 program header of type PT_INTERP (3) names a dynamic loader the image would not have.
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const [size, count] = [elf.readUInt16LE(0x36), elf.readUInt16LE(0x38)];
  for (let i = 0; i < count; i++) if (elf.readUInt32LE(phoff + i * size) === 3) return `${BUSYBOX} is dynamically linked; the stand-in image needs busybox-static`;
  return undefined;
}

// Stand-ins, not MongoDB: mongod serves one line on its --port; mongosh reports what Docker
// passed it and fails, as a probe without a server would.
const STAND_IN_MONGOD = `#!/bin/sh
port=27017
while [ $# -gt 0 ]; do [ "$1" = --port ] && port=$2; shift; done
while true; do echo "stand-in mongod" | nc -l -p "$port"; done
`;
const STAND_IN_MONGOSH = `#!/bin/sh
printf 'stand-in mongosh: %s arguments\\n%s\\n' "$#" "$4"
exit 1
`;

function standInRootfs(): Buffer {
  const dirs = ["bin", "usr", "usr/local", "usr/local/bin", "tmp"].map((name): TarEntry => ({ name, type: "dir", mode: name === "tmp" ? 0o1777 : 0o755 }));
  const applets = ["sh", "nc", "cat", "sleep", "ls"].map((name): TarEntry => ({ name: `bin/${name}`, type: "symlink", mode: 0o777, linkTarget: "busybox" }));
  return tarArchive([
    ...dirs,
    { name: "bin/busybox", type: "file", mode: 0o755, content: readFileSync(BUSYBOX) },
    ...applets,
    { name: "usr/local/bin/mongod", type: "file", mode: 0o755, content: Buffer.from(STAND_IN_MONGOD) },
    { name: "usr/local/bin/mongosh", type: "file", mode: 0o755, content: Buffer.from(STAND_IN_MONGOSH) },
  ]);
}

async function importImage(api: DockerApi, rootfs: Buffer, ref: string): Promise<void> {
  const [repo, tag] = ref.split(":") as [string, string];
  const query = new URLSearchParams({ fromSrc: "-", repo, tag, changes: "ENV PATH=/usr/local/bin:/bin" });
  await api.request("POST", `/images/create?${query}`, rootfs);
}

/** The first line a TCP server at host:port sends, or the connection error's code, or "closed". */
function firstLine(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 5000 });
    let data = "";
    socket.on("data", (d: Buffer) => {
      data += String(d);
      if (data.includes("\n")) {
        socket.destroy();
        resolve(data.split("\n")[0]!);
      }
    });
    socket.on("timeout", () => (socket.destroy(), resolve("timeout")));
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    // docker-proxy accepts, and closes the connection when nothing listens in the container yet.
    socket.on("close", () => resolve(data === "" ? "closed" : data));
  });
}

const externalIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

const skip = dockerSkipReason() ?? busyboxSkipReason();
if (skip) console.warn(`skipping the local stack's container spec on a real dockerd: ${skip}`);

describe.skipIf(skip !== undefined)(`stack local: its container spec created on a real dockerd through the Engine API${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let api: DockerApi;
  let run: MockedRun;
  let port: number;
  const docker = (kind: keyof typeof TYPES) => run?.resources.filter((r) => r.type === TYPES[kind]) ?? [];
  const mongod = () => one(run, TYPES.container, "mongo-mongod");
  const agent = () => one(run, TYPES.container, "agent-daemon");
  const inspect = (name: string) => api.json<{ Id: string; Image: string; State: { Status: string; Health?: { Log: { ExitCode: number; Output: string }[] } }; Config: Record<string, unknown>; HostConfig: Record<string, unknown>; NetworkSettings: { Ports: Record<string, unknown>; Networks: Record<string, { Aliases: string[] | null }> } }>("GET", `/containers/${name}/json`);
  const fileIn = async (container: string, file: string) => firstTarEntry((await api.request("GET", `/containers/${container}/archive?path=${encodeURIComponent(file)}`)).body);
  const created: string[] = [];

  beforeAll(async () => {
    api = dockerApi(process.env.DOCKER_TEST_SOCKET!);
    // A free host port for mongod, so the published port cannot collide with anything on this machine.
    port = await freePort();
    const config = { ...stackYaml("local"), "cloudsync:backupRecipients": RECIPIENT, "cloudsync:mongoPort": String(port), ...SECRETS };
    run = await runMocked("local", config, Object.keys(SECRETS), local);
    const rootfs = standInRootfs();
    await importImage(api, rootfs, String(mongod().inputs.image));
    await importImage(api, rootfs, AGENT_IMAGE);
    // Creation in the program's dependency order: volumes and the network, then the containers.
    for (const v of docker("volume")) await api.request("POST", "/volumes/create", volumeCreateBody(v.inputs));
    for (const n of docker("network")) await api.request("POST", "/networks/create", networkCreateBody(n.inputs));
    for (const c of [mongod(), agent()]) {
      created.push(await createContainer(api, containerPlan(c.inputs, (ref) => (ref === MOCKED_DIGEST ? AGENT_IMAGE : ref))));
    }
  });

  afterAll(async () => {
    if (!api) return;
    for (const id of created) await api.request("DELETE", `/containers/${id}?force=true&v=true`).catch(() => undefined);
    for (const n of docker("network")) await api.request("DELETE", `/networks/${String(n.inputs.name)}`).catch(() => undefined);
    for (const v of docker("volume")) await api.request("DELETE", `/volumes/${String(v.inputs.name)}`).catch(() => undefined);
  });

  it("creates every volume and the network under this stack's own prefix, cloudsync-local-", async () => {
    const volumes = await Promise.all(docker("volume").map((v) => api.json<{ Name: string }>("GET", `/volumes/${String(v.inputs.name)}`)));
    expect(volumes.map((v) => v.Name).sort()).toEqual(["cloudsync-local-agent-backups", "cloudsync-local-mongo-config", "cloudsync-local-mongo-data"]);
    expect((await api.json<{ Name: string; Driver: string; Internal: boolean }>("GET", "/networks/cloudsync-local-mongo-net"))).toMatchObject({ Name: "cloudsync-local-mongo-net", Driver: "bridge", Internal: false });
    // Created, not started: each container's endpoint on the stack's network, with the aliases of the spec.
    expect((await inspect("cloudsync-mongo")).NetworkSettings.Networks).toEqual({ "cloudsync-local-mongo-net": expect.objectContaining({ Aliases: ["cloudsync-mongo"] }) });
    expect(Object.keys((await inspect("cloudsync-local-agent-daemon")).NetworkSettings.Networks)).toEqual(["cloudsync-local-mongo-net"]);
  });

  it("binds mongod's published port to 127.0.0.1 only and carries the spec's healthcheck", async () => {
    const c = await inspect("cloudsync-mongo");
    expect(c.HostConfig.PortBindings).toEqual({ "27017/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    const hc = mongod().inputs.healthcheck as { tests: string[] };
    expect(c.Config.Healthcheck).toEqual({ Test: hc.tests, Interval: 10e9, Timeout: 10e9, StartPeriod: 40e9, Retries: 6 });
    expect(hc.tests.slice(0, 2)).toEqual(["CMD", "mongosh"]);
    expect([c.Config.Cmd, c.HostConfig.RestartPolicy, c.HostConfig.Memory]).toEqual([mongod().inputs.command, { Name: "unless-stopped", MaximumRetryCount: 0 }, 1024 * 1024 * 1024]);
  });

  it("uploads the root password file and the keyfile owned by uid/gid 999, mode 0400, before the container starts; the agent's URI file 1000:1000 0400", async () => {
    expect((await inspect("cloudsync-mongo")).State.Status).toBe("created");
    const seen = async (container: string, file: string) => {
      const e = await fileIn(container, file);
      return { uid: e.uid, gid: e.gid, mode: e.mode.toString(8), content: e.content.toString("utf8") };
    };
    expect(await seen("cloudsync-mongo", "/run/secrets/mongo-root-password")).toEqual({ uid: 999, gid: 999, mode: "400", content: PASSWORD });
    expect(await seen("cloudsync-mongo", "/run/secrets/mongo-keyfile")).toEqual({ uid: 999, gid: 999, mode: "400", content: KEYFILE });
    const uri = await seen("cloudsync-local-agent-daemon", "/run/secrets/env/MONGODB_URI");
    expect([uri.uid, uri.gid, uri.mode, uri.content.startsWith("mongodb://root:")]).toEqual([1000, 1000, "400", true]);
  });

  it("builds and runs the agent for the daemon's own platform: no platform anywhere in the spec, and the container's image is the daemon's architecture", async () => {
    expect(one(run, "docker:index/image:Image", "agent-image").inputs.build).not.toHaveProperty("platform");
    expect(agent().inputs).not.toHaveProperty("platform");
    const daemon = await api.json<{ Os: string; Arch: string }>("GET", "/version");
    const image = await api.json<{ Os: string; Architecture: string }>("GET", `/images/${(await inspect("cloudsync-local-agent-daemon")).Image}/json`);
    expect([image.Os, image.Architecture]).toEqual([daemon.Os, daemon.Arch]);
  });

  it("started (stand-in mongod), publishes the port on 127.0.0.1, lets the mongodb user (999) read the password file and no other uid, and runs the healthcheck in exec form with the probe script as one argument", async () => {
    await api.request("POST", "/containers/cloudsync-mongo/start");
    const c = await inspect("cloudsync-mongo");
    expect(c.NetworkSettings.Ports).toEqual({ "27017/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    // Until the stand-in listens (it also re-listens after each connection), docker-proxy closes.
    let line = "";
    for (let i = 0; i < 50 && (line = await firstLine("127.0.0.1", port)) !== "stand-in mongod"; i++) await new Promise((r) => setTimeout(r, 100));
    expect(line).toBe("stand-in mongod");
    expect(await dockerExec(api, c.Id, ["cat", "/run/secrets/mongo-root-password"], "999:999")).toEqual({ exitCode: 0, stdout: PASSWORD, stderr: "" });
    expect(await dockerExec(api, c.Id, ["cat", "/run/secrets/mongo-keyfile"], "999:999")).toEqual({ exitCode: 0, stdout: KEYFILE, stderr: "" });
    const other = await dockerExec(api, c.Id, ["cat", "/run/secrets/mongo-root-password"], "1000:1000");
    expect([other.exitCode, other.stdout, other.stderr]).toEqual([1, "", "cat: can't open '/run/secrets/mongo-root-password': Permission denied\n"]);
    // The first probe runs one interval (10 s) after the start.
    let log: { ExitCode: number; Output: string }[] = [];
    for (const deadline = Date.now() + 30_000; log.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      log = (await inspect("cloudsync-mongo")).State.Health?.Log ?? [];
    }
    const script = (mongod().inputs.healthcheck as { tests: string[] }).tests[5];
    expect(log[0]).toMatchObject({ ExitCode: 1, Output: `stand-in mongosh: 4 arguments\n${script}\n` });
  }, 60_000);

  it.skipIf(!externalIp)(`does not answer on the machine's other address${externalIp ? "" : " (skipped: this machine has no non-loopback IPv4 address)"}`, async () => {
    // Only meaningful while the stand-in runs and answers on 127.0.0.1 (the test before started it).
    expect((await inspect("cloudsync-mongo")).State.Status).toBe("running");
    expect(await firstLine(externalIp!, port)).toBe("ECONNREFUSED");
  });

  it("destroy: deleting what `pulumi destroy` deletes (every resource not retainOnDelete) leaves the three data volumes with their contents", async () => {
    const marker = (name: string) => tarArchive([{ name, type: "file", mode: 0o644, content: Buffer.from(`kept ${name}\n`) }]);
    for (const [container, dir] of [["cloudsync-mongo", "/data/db"], ["cloudsync-mongo", "/data/configdb"], ["cloudsync-local-agent-daemon", "/backups"]] as const) {
      await api.request("PUT", `/containers/${container}/archive?path=${encodeURIComponent(dir)}`, marker("cloudsync-marker"));
    }
    const ours = run.resources.filter((r) => r.custom && r.type.startsWith("docker:index/") && r.type !== "docker:index/image:Image");
    const retained = (r: Recorded) => r.retainOnDelete;
    expect(ours.filter(retained).map((r) => `${r.type} ${String(r.inputs.name)} protect=${r.protect}`).sort()).toEqual(
      ["cloudsync-local-agent-backups", "cloudsync-local-mongo-config", "cloudsync-local-mongo-data"].map((n) => `docker:index/volume:Volume ${n} protect=true`),
    );
    expect([...new Set(ours.filter((r) => !retained(r)).map((r) => r.type))].sort()).toEqual([TYPES.container, TYPES.network]);
    // Dependents first, as the engine deletes: the containers, then the network. The provider
    // removes a container with force and its anonymous volumes (remove_volumes defaults to true).
    for (const r of ours.filter((r) => !retained(r) && r.type === TYPES.container)) await api.request("DELETE", `/containers/${String(r.inputs.name)}?force=true&v=true`);
    for (const r of ours.filter((r) => !retained(r) && r.type === TYPES.network)) await api.request("DELETE", `/networks/${String(r.inputs.name)}`);
    const left = await api.json<{ Name: string }[]>("GET", "/containers/json?all=true");
    expect(left).toEqual([]);
    await expect(api.request("GET", "/networks/cloudsync-local-mongo-net")).rejects.toThrow(/404/);
    // A new container on the kept volumes finds what the old ones wrote.
    const reader = containerPlan({
      name: "cloudsync-local-reader",
      image: AGENT_IMAGE,
      command: ["true"],
      volumes: [
        { volumeName: "cloudsync-local-mongo-data", containerPath: "/v/data" },
        { volumeName: "cloudsync-local-mongo-config", containerPath: "/v/config" },
        { volumeName: "cloudsync-local-agent-backups", containerPath: "/v/backups" },
      ],
    });
    created.push(await createContainer(api, reader));
    for (const d of ["data", "config", "backups"]) expect((await fileIn("cloudsync-local-reader", `/v/${d}/cloudsync-marker`)).content.toString()).toBe("kept cloudsync-marker\n");
  });
});
