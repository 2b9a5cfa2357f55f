// Turns the inputs a stack program registers for `docker:index/{volume,network,container}` (the
// Pulumi docker provider's schema, as test/infra/harness.ts records them) into Docker Engine API
// calls, doing what the provider does with each field. The docker provider cannot be built here,
// so this is how the `local` stack's containers meet a real daemon (test/infra/docker-spec.test.ts).
// Any input it does not know is refused, so a new field in a component cannot pass untested.
import { checkDuration } from "../../runtime/src/config/duration.js";
import { tarArchive, type DockerApi } from "./docker-api.js";

/** One `uploads[]` item of a container. */
export interface SpecUpload {
  readonly file: string;
  readonly content?: string;
  readonly contentBase64?: string;
  readonly executable?: boolean;
  readonly permissions?: string;
  readonly owner?: string;
  readonly group?: string;
}

/** A container's create call, the networks it joins after it, and its uploads. */
export interface ContainerPlan {
  readonly name: string;
  /** Query of `POST /containers/create` beyond the name (the platform, when the spec sets one). */
  readonly platform?: string;
  /** Body of `POST /containers/create` (Config with HostConfig and NetworkingConfig). */
  readonly body: Record<string, unknown> & { Image: string; Cmd?: string[]; HostConfig: Record<string, unknown> };
  /** Networks beyond the first, with their aliases (`POST /networks/{name}/connect`). */
  readonly laterNetworks: readonly { readonly name: string; readonly aliases: readonly string[] }[];
  readonly uploads: readonly SpecUpload[];
}

const CONTAINER_FIELDS = new Set(["name", "image", "command", "entrypoints", "envs", "labels", "ports", "volumes", "networksAdvanced", "healthcheck", "restart", "memory", "stopSignal", "stopTimeout", "uploads", "platform"]);

function refuseUnknown(kind: string, inputs: Record<string, unknown>, known: ReadonlySet<string>): void {
  const unknown = Object.keys(inputs).filter((k) => !known.has(k) && inputs[k] !== undefined);
  if (unknown.length > 0) throw new Error(`docker spec: ${kind} input(s) ${unknown.join(", ")} are not translated; add them to test/support/docker-spec.ts`);
}

/** Nanoseconds of a provider duration (`10s`, `1m30s`). Go's grammar is wider (ms, fractions); the translator takes only whole s/m/h terms. */
function nanoseconds(field: string, text: string): number {
  const c = checkDuration(text, { allowZero: true });
  if (!c.ok || /[dwy]|mo/.test(text)) throw new Error(`docker spec: healthcheck.${field} ${JSON.stringify(text)} is not a whole number of s, m or h`);
  return c.ms * 1_000_000;
}

/** Body of `POST /volumes/create` for a `docker.Volume`'s inputs. */
export function volumeCreateBody(inputs: Record<string, unknown>): { Name: string; Driver?: string; Labels?: Record<string, string> } {
  refuseUnknown("volume", inputs, new Set(["name", "driver", "labels"]));
  return { Name: String(inputs.name), ...(inputs.driver ? { Driver: String(inputs.driver) } : {}), ...(inputs.labels ? { Labels: labelMap(inputs.labels) } : {}) };
}

/** Body of `POST /networks/create` for a `docker.Network`'s inputs (driver bridge unless set). */
export function networkCreateBody(inputs: Record<string, unknown>): { Name: string; Driver: string; Internal: boolean; CheckDuplicate: true } {
  refuseUnknown("network", inputs, new Set(["name", "driver", "internal"]));
  return { Name: String(inputs.name), Driver: inputs.driver ? String(inputs.driver) : "bridge", Internal: inputs.internal === true, CheckDuplicate: true };
}

function labelMap(labels: unknown): Record<string, string> {
  return Object.fromEntries((labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
}

/**
 * The create call of a `docker.Container`'s inputs, as the provider makes it: `ports` become
 * ExposedPorts and PortBindings (HostIp = `ip`, default 0.0.0.0), `volumes` with a volumeName
 * become binds `name:path[:ro]`, `healthcheck` durations become nanoseconds, `memory` MiB
 * becomes bytes. `networksAdvanced`: the provider creates the container on the default bridge,
 * disconnects it and connects each network with its aliases; the plan reaches the same end state
 * by creating it on the first network (this project's daemon has no default bridge) and
 * connecting the rest later. `image` goes through `image` (the test maps a mocked digest to a
 * local image). Throws `Error` for an input it does not translate.
 */
export function containerPlan(inputs: Record<string, unknown>, image: (ref: string) => string = (r) => r): ContainerPlan {
  refuseUnknown("container", inputs, CONTAINER_FIELDS);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of (inputs.ports ?? []) as { internal: number; external?: number; ip?: string; protocol?: string }[]) {
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external === undefined ? "" : String(p.external) });
  }
  const binds = ((inputs.volumes ?? []) as { volumeName?: string; containerPath?: string; readOnly?: boolean; hostPath?: string }[]).map((v) => {
    if (!v.volumeName || !v.containerPath || v.hostPath) throw new Error(`docker spec: only named volumes are translated, got ${JSON.stringify(v)}`);
    return `${v.volumeName}:${v.containerPath}${v.readOnly ? ":ro" : ""}`;
  });
  const networks = ((inputs.networksAdvanced ?? []) as { name: string; aliases?: string[] }[]).map((n) => ({ name: n.name, aliases: n.aliases ?? [] }));
  const hc = inputs.healthcheck as { tests: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string } | undefined;
  const [first, ...later] = networks;
  const body: ContainerPlan["body"] = {
    Image: image(String(inputs.image)),
    ...(inputs.command ? { Cmd: inputs.command as string[] } : {}),
    ...(inputs.entrypoints ? { Entrypoint: inputs.entrypoints as string[] } : {}),
    ...(inputs.envs ? { Env: inputs.envs as string[] } : {}),
    ...(inputs.labels ? { Labels: labelMap(inputs.labels) } : {}),
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(inputs.stopSignal ? { StopSignal: String(inputs.stopSignal) } : {}),
    ...(inputs.stopTimeout !== undefined ? { StopTimeout: Number(inputs.stopTimeout) } : {}),
    ...(hc
      ? {
          Healthcheck: {
            Test: hc.tests,
            ...(hc.interval ? { Interval: nanoseconds("interval", hc.interval) } : {}),
            ...(hc.timeout ? { Timeout: nanoseconds("timeout", hc.timeout) } : {}),
            ...(hc.startPeriod ? { StartPeriod: nanoseconds("startPeriod", hc.startPeriod) } : {}),
            ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
          },
        }
      : {}),
    HostConfig: {
      ...(binds.length ? { Binds: binds } : {}),
      ...(Object.keys(bindings).length ? { PortBindings: bindings } : {}),
      ...(inputs.restart ? { RestartPolicy: { Name: String(inputs.restart) } } : {}),
      ...(inputs.memory !== undefined ? { Memory: Number(inputs.memory) * 1024 * 1024 } : {}),
      ...(first ? { NetworkMode: first.name } : {}),
    },
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.name]: { Aliases: first.aliases } } } } : {}),
  };
  return {
    name: String(inputs.name),
    ...(inputs.platform ? { platform: String(inputs.platform) } : {}),
    body,
    laterNetworks: later,
    uploads: (inputs.uploads ?? []) as SpecUpload[],
  };
}

function numericId(field: string, file: string, value: string | undefined): number {
  if (value === undefined) return 0;
  // The provider resolves names in the Pulumi host's user database; this project uses numbers only.
  if (!/^\d+$/.test(value)) throw new Error(`docker spec: upload ${file}: ${field} ${JSON.stringify(value)} is not a numeric id`);
  return Number(value);
}

/**
 * The tar archive the provider PUTs to `/` for one upload: the file at its absolute path with
 * mode `permissions` (octal; else 0744 when `executable`, 0644 otherwise) and the owner and group
 * ids of the spec.
 */
export function uploadArchive(u: SpecUpload): Buffer {
  if ((u.content === undefined) === (u.contentBase64 === undefined)) throw new Error(`docker spec: upload ${u.file}: exactly one of content and contentBase64 is translated`);
  if (u.permissions !== undefined && !/^0?[0-7]{3,4}$/.test(u.permissions)) throw new Error(`docker spec: upload ${u.file}: permissions ${JSON.stringify(u.permissions)} is not an octal mode`);
  const mode = u.permissions !== undefined ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
  const content = u.content !== undefined ? Buffer.from(u.content, "utf8") : Buffer.from(u.contentBase64!, "base64");
  return tarArchive([{ name: u.file.replace(/^\/+/, ""), type: "file", mode, uid: numericId("owner", u.file, u.owner), gid: numericId("group", u.file, u.group), content }]);
}

/**
 * Creates the container of `plan` (not started, as the provider uploads before it starts),
 * connects its later networks and PUTs each upload. Returns the container id.
 */
export async function createContainer(api: DockerApi, plan: ContainerPlan): Promise<string> {
  const query = new URLSearchParams({ name: plan.name, ...(plan.platform ? { platform: plan.platform } : {}) });
  const { Id } = await api.json<{ Id: string }>("POST", `/containers/create?${query}`, plan.body);
  for (const n of plan.laterNetworks) await api.request("POST", `/networks/${encodeURIComponent(n.name)}/connect`, { Container: Id, EndpointConfig: { Aliases: n.aliases } });
  for (const u of plan.uploads) await api.request("PUT", `/containers/${Id}/archive?path=${encodeURIComponent("/")}`, uploadArchive(u));
  return Id;
}
