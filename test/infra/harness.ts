/**
 * Runs a stack program in-process under `pulumi.runtime.setMocks` and records every resource
 * registration with its inputs and options (protect, retainOnDelete, parent, aliases, secret
 * outputs), read straight from the RegisterResource request the SDK sends — the same request
 * the engine would get from `pulumi up`.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../support/paths.js";

/** The repository root (this file is test/infra/harness.ts). */

/** One registered resource. */
export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly custom: boolean;
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input names whose value, or any value nested in it, was sent as a secret. */
  readonly secretInputs: readonly string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** The `deleteBeforeReplace` option (false for reads). */
  readonly deleteBeforeReplace: boolean;
  readonly parent: string;
  readonly aliases: readonly unknown[];
  readonly additionalSecretOutputs: readonly string[];
  readonly dependsOn: readonly string[];
}

/** The result of a mocked run. */
export interface MockedRun {
  readonly resources: readonly Recorded[];
  /** Stack outputs, resolved (secrets unwrapped). */
  readonly outputs: Record<string, unknown>;
  /** Output names that resolved to secrets. */
  readonly secretOutputs: readonly string[];
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

function isSecretValue(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/**
 * Loads `Pulumi.<stack>.yaml`'s `config:` map as strings (see `parseStackConfig`): the plain
 * values, without the `secure:` ones a user's own `pulumi config set --secret` wrote there.
 */
export function stackYaml(stack: string): Record<string, string> {
  const file = `Pulumi.${stack}.yaml`;
  return parseStackConfig(readFileSync(path.join(repoRoot, file), "utf8"), file).values;
}

/**
 * A stack file's `config:` map: plain values as strings, and the keys of `secure:` values (what
 * `pulumi config set --secret` writes: ciphertext only the stack's secrets provider can open, so
 * tests supply their own values for those keys). Throws `Error` naming the key for any other
 * structured value, which this project's flat config never uses.
 */
export function parseStackConfig(text: string, file: string): { values: Record<string, string>; secureKeys: string[] } {
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  const values: Record<string, string> = {};
  const secureKeys: string[] = [];
  for (const [k, v] of Object.entries(doc?.config ?? {})) {
    if (typeof v === "object" && v !== null) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "secure" && typeof (v as { secure: unknown }).secure === "string") {
        secureKeys.push(k);
        continue;
      }
      throw new Error(`${file}: ${k} is neither a plain value nor a secure: secret (structured config is not used by this project)`);
    }
    values[k] = String(v);
  }
  return { values, secureKeys };
}

/** Computed outputs the mocks add per type, so programs see what providers would return. */
function computed(type: string, inputs: Record<string, unknown>, refs: Record<string, Record<string, unknown>>): Record<string, unknown> {
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { arn: `arn:aws:s3:::${String(inputs.bucket)}`, bucket: inputs.bucket };
    case "aws:iam/accessKey:AccessKey":
      return { secret: "mock-secret-access-key" };
    case "docker:index/image:Image":
      return { repoDigest: "sha256:0000000000000000000000000000000000000000000000000000000000000000" };
    case "pulumi:pulumi:StackReference":
      return { outputs: refs[String(inputs.name)] ?? {}, secretOutputNames: [] };
    case "mongodbatlas:index/advancedCluster:AdvancedCluster":
      return { connectionStrings: { standardSrv: "mongodb+srv://cloudsync.abcde.mongodb.net" } };
    case "random:index/randomPassword:RandomPassword":
      return { result: "generatedPassword0123456789abcdef" };
    default:
      return {};
  }
}

async function settle(v: unknown): Promise<{ value: unknown; secret: boolean }> {
  if (pulumi.Output.isInstance(v)) {
    const out = v as pulumi.Output<unknown>;
    // `promise()` (SDK-internal) rejects when the output failed; `apply` would never call back.
    const internal = out as unknown as { isSecret: Promise<boolean>; promise(): Promise<unknown> };
    const value = await internal.promise();
    return { value: (await settle(value)).value, secret: await internal.isSecret };
  }
  if (Array.isArray(v)) {
    const items = await Promise.all(v.map(settle));
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (typeof v === "object" && v !== null && !(v instanceof pulumi.Resource)) {
    const entries = await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await settle(x)] as const));
    return { value: Object.fromEntries(entries.map(([k, s]) => [k, s.value])), secret: entries.some(([, s]) => s.secret) };
  }
  return { value: v, secret: false };
}

/**
 * Sets `config` (keys `ns:key`; `secretKeys` among them are secrets), installs recording mocks for
 * stack `stack`, runs `program`, waits until every registration finished, and returns the record.
 */
export async function runMocked(
  stack: string,
  config: Record<string, string>,
  secretKeys: readonly string[],
  program: () => Promise<Record<string, unknown>>,
  refs: Record<string, Record<string, unknown>> = {},
): Promise<MockedRun> {
  pulumi.runtime.setAllConfig(config, [...secretKeys]);
  const resources: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      // Like the providers: a bucket's id is its name (sibling resources refer to it by that).
      newResource: (a) => ({ id: a.type === "aws:s3/bucket:Bucket" ? String(a.inputs.bucket) : `${a.name}-id`, state: { ...a.inputs, ...computed(a.type, a.inputs as Record<string, unknown>, refs) } }),
      call: (a) => (a.token === "aws:index/getRegion:getRegion" ? { name: "us-east-1", region: "us-east-1" } : {}),
    },
    "cloudsync",
    stack,
    false,
  );
  type Req = {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProtect(): boolean;
    getRetainondelete(): boolean;
    getDeletebeforereplace(): boolean;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getAliasesList(): unknown[];
    getAdditionalsecretoutputsList(): string[];
    getDependenciesList(): string[];
  };
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: Req, cb: (err: unknown, resp: { getUrn(): string } | undefined) => void) => void };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    original(req, (err, resp) => {
      if (!err && resp) {
        const raw = req.getObject()?.toJavaScript() ?? {};
        const secretInputs = Object.keys(raw).filter((k) => containsSecret(raw[k]));
        resources.push({
          type: req.getType(),
          name: req.getName(),
          urn: resp.getUrn(),
          custom: req.getCustom(),
          inputs: unwrapSecrets(raw) as Record<string, unknown>,
          secretInputs,
          protect: req.getProtect(),
          retainOnDelete: req.getRetainondelete(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          parent: req.getParent(),
          aliases: req.getAliasesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          dependsOn: req.getDependenciesList(),
        });
      }
      cb(err, resp);
    });
  };
  // StackReferences (and any `get`) arrive as reads, not registrations.
  type ReadReq = { getType(): string; getName(): string; getParent(): string; getId(): string; getProperties(): { toJavaScript(): Record<string, unknown> } | undefined };
  const reader = monitor as unknown as { readResource: (req: ReadReq, cb: (err: unknown, resp: { getUrn(): string } | undefined) => void) => void };
  const originalRead = reader.readResource.bind(reader);
  reader.readResource = (req, cb) => {
    originalRead(req, (err, resp) => {
      if (!err && resp) {
        const raw = req.getProperties()?.toJavaScript() ?? {};
        resources.push({ type: req.getType(), name: req.getName(), urn: resp.getUrn(), custom: true, inputs: unwrapSecrets(raw) as Record<string, unknown>, secretInputs: [], protect: false, retainOnDelete: false, deleteBeforeReplace: false, parent: req.getParent(), aliases: [], additionalSecretOutputs: [], dependsOn: [] });
      }
      cb(err, resp);
    });
  };
  const rawOutputs = await program();
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [k, v] of Object.entries(rawOutputs)) {
    const s = await settle(v);
    outputs[k] = s.value;
    if (s.secret) secretOutputs.push(k);
  }
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources, outputs, secretOutputs };
}

function unwrapSecrets(v: unknown): unknown {
  if (isSecretValue(v)) return unwrapSecrets((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** Whether any value at any depth under `v` was sent as a secret. */
export function containsSecret(raw: unknown): boolean {
  if (isSecretValue(raw)) return true;
  if (Array.isArray(raw)) return raw.some(containsSecret);
  if (typeof raw === "object" && raw !== null) return Object.values(raw).some(containsSecret);
  return false;
}

/** The one resource of `type` named `name`; throws listing what exists otherwise. */
export function one(run: MockedRun, type: string, name: string): Recorded {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}; have: ${run.resources.map((r) => `${r.type} ${r.name}`).join(", ")}`);
  return found[0]!;
}
