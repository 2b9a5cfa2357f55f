// Shared fixtures of the metadata tests: deterministic public models, a raw signed POST (tests
// need to forge every header), and a temporary directory per test file.
import type { PublicModel, PushBody } from "../../runtime/src/metadata/public-schema.js";
import { newIdempotencyKey, signRequest } from "../../runtime/src/metadata/signature.js";
import { Secret } from "../../runtime/src/secret.js";

export const API_KEY = new Secret("test-key-0123456789abcdef-not-a-real-secret");
export const LICENSES = ["apache-2.0", "mit", "llama3", "cc-by-4.0"] as const;

/** Model `i` of a deterministic catalogue; `tag` marks which push wrote it. */
export function model(i: number, tag = "v1"): PublicModel {
  const n = String(i).padStart(5, "0");
  return {
    id: `model-${n}`,
    name: `Model ${n} ${["Llama", "Mistral", "Phi", "Gemma"][i % 4]}`,
    family: ["llama", "mistral", "phi", "gemma"][i % 4],
    parameters: (i % 70) * 1e8 + 1e8,
    sizeBytes: (i % 97) * 1_000_003 + 1000,
    license: LICENSES[i % LICENSES.length],
    sourceUrl: `https://huggingface.co/org/model-${n}`,
    sha256: (i.toString(16).padStart(8, "0") + "ab").repeat(7).slice(0, 64),
    tags: [tag, `t${i % 5}`],
    description: `A test model number ${i}.`,
    updatedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  };
}

export function models(from: number, to: number, tag = "v1"): PublicModel[] {
  const out: PublicModel[] = [];
  for (let i = from; i < to; i++) out.push(model(i, tag));
  return out;
}

/** POSTs `body` (object or raw text) to the push path, signed unless `headers` replaces the signature headers. */
export async function signedPost(
  baseUrl: string,
  body: PushBody | string,
  opts: { key?: Secret; now?: number; idempotencyKey?: string; headers?: Record<string, string>; sign?: boolean; signBody?: string } = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const signed = opts.sign === false ? {} : signRequest(opts.key ?? API_KEY, "/api/sync/metadata", Buffer.from(opts.signBody ?? raw), opts.idempotencyKey ?? newIdempotencyKey(), opts.now ?? Date.now());
  const res = await fetch(`${baseUrl}/api/sync/metadata`, { method: "POST", headers: { "content-type": "application/json", ...signed, ...opts.headers }, body: raw });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json, headers: res.headers };
}

export async function getJson(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}

/** Parses an env file the way systemd's EnvironmentFile= does for our simple KEY=value lines. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1]) env[m[1]] = m[2] ?? "";
  }
  return env;
}

/** The unit's Key=value settings. */
export function unitSettings(unit: string): Record<string, string> {
  return parseEnvFile(unit.replace(/^([A-Za-z]+)=/gm, (_m, k: string) => `${k.toUpperCase()}=`));
}
