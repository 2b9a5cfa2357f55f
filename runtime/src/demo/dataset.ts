import type { Readable } from "node:stream";
import { Binary, BSON, Double, Int32, Long, ObjectId } from "bson";
import { FORMAT_VERSION } from "../archive/format.js";
import { writeArchive } from "../archive/writer.js";
import { VERSION } from "../version.js";
import { DEMO_COLLECTIONS, DEMO_DATABASE, demoCollectionMetadata, type DemoCollection } from "./collections.js";
import { createPrng, type Prng } from "./prng.js";

/** Options of the demo document generators. */
export interface DemoDataOptions {
  /** Stop once at least this many BSON bytes have been produced (the last document may cross it). */
  readonly targetBytes: number;
  /** Same seed, same documents, byte for byte. Default 1. */
  readonly seed?: number;
}

/**
 * Share of the demo bytes each collection receives: event logs dominate a real deployment,
 * licences are few but long.
 */
export const DEMO_SHARES: Readonly<Record<DemoCollection, number>> = {
  models: 0.25,
  inventories: 0.15,
  licenses: 0.05,
  events: 0.55,
};

const FAMILIES = ["llama", "mistral", "qwen", "gemma", "phi", "falcon", "olmo", "deepseek", "granite", "stablelm", "bloom", "mpt"];
const ORGS = ["meta-llama", "mistralai", "Qwen", "google", "microsoft", "tiiuae", "allenai", "deepseek-ai", "ibm-granite", "stabilityai"];
const SIZES = [0.5, 1, 1.5, 2, 3, 7, 8, 13, 14, 32, 34, 70, 72, 110];
const QUANTS = ["fp16", "bf16", "q8_0", "q6_K", "q5_K_M", "q4_K_M", "q4_0", "awq-int4", "gptq-int4"];
const ARCHS = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "GemmaForCausalLM", "PhiForCausalLM", "FalconForCausalLM"];
const TAGS = [
  "text-generation", "instruct", "chat", "code", "multilingual", "long-context", "reasoning", "tool-use", "embedding",
  "safetensors", "gguf", "conversational", "summarization", "translation", "math", "vision", "distilled", "merged",
];
const SPDX = [
  "Apache-2.0", "MIT", "BSD-3-Clause", "BSD-2-Clause", "MPL-2.0", "GPL-3.0-only", "LGPL-3.0-only", "AGPL-3.0-only",
  "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "OpenRAIL-M", "Llama-3-Community", "Gemma-Terms", "Unlicense", "EPL-2.0",
];
const PERMISSIONS = ["commercial-use", "modification", "distribution", "private-use", "patent-use"];
const CONDITIONS = ["include-copyright", "document-changes", "disclose-source", "same-license", "network-use-disclose", "attribution"];
const LIMITATIONS = ["liability", "warranty", "trademark-use", "patent-use", "acceptable-use-policy", "user-threshold"];
const SITES = ["fra1", "ams3", "iad2", "sfo3", "sin1", "syd1", "gru1", "nrt1"];
const STATUSES = ["active", "active", "active", "staged", "draining", "retired"];
const EVENT_TYPES = [
  "model.download", "model.download", "model.download", "model.view", "model.view", "model.upload", "model.update",
  "inventory.sync", "inventory.verify", "license.accept", "auth.login", "auth.token.refresh", "api.error",
];
const USER_AGENTS = [
  "huggingface_hub/0.26.2; python/3.12.7; torch/2.5.1",
  "curl/8.11.0",
  "cloudsync/0.1.0 node/20.19.0",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "ollama/0.4.7 (amd64 linux) Go/go1.23.3",
  "aws-sdk-js/3.700.0 ua/2.1 os/linux#6.8.0 lang/js md/nodejs#20.18.1",
];
const WORDS = (
  "the model was trained on a mixture of public web data code and curated instruction sets with a context window " +
  "tuned for retrieval tasks evaluation covers reasoning math coding and multilingual benchmarks weights are released " +
  "under the stated license intended use includes research and commercial deployment subject to the acceptable use " +
  "policy limitations include hallucination bias and sensitivity to prompt formatting quantized variants trade accuracy " +
  "for memory and latency checksum verified against upstream release notes replicated to two regions inventory audited"
).split(" ");

/** 2024-01-01T00:00:00Z: demo timestamps spread over the following year. */
const EPOCH = Date.UTC(2024, 0, 1);
const YEAR_MS = 366 * 24 * 3600 * 1000;

function sentence(rng: Prng, minWords: number, maxWords: number): string {
  const n = rng.between(minWords, maxWords);
  const words: string[] = [];
  for (let i = 0; i < n; i += 1) words.push(rng.pick(WORDS));
  const text = words.join(" ");
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function distinct(rng: Prng, items: readonly string[], min: number, max: number): string[] {
  const chosen = new Set<string>();
  const want = rng.between(min, max);
  while (chosen.size < want) chosen.add(rng.pick(items));
  return [...chosen];
}

/** ObjectIds shaped like the server's: a creation time in the first 4 bytes, then 8 bytes of deterministic noise. */
function objectId(rng: Prng, at: number): ObjectId {
  const bytes = new Uint8Array(12);
  rng.fill(bytes);
  new DataView(bytes.buffer).setUint32(0, Math.floor(at / 1000));
  return new ObjectId(bytes);
}

function uuid(rng: Prng): Binary {
  const bytes = rng.fill(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return new Binary(bytes, Binary.SUBTYPE_UUID);
}

/** Deterministic reference to one of the first models, so events and inventories point at plausible ids. */
function modelRef(seed: number, index: number): ObjectId {
  const rng = createPrng(seed ^ Math.imul(index + 1, 0x9e3779b1));
  return objectId(rng, EPOCH + rng.int(YEAR_MS));
}

function modelDoc(rng: Prng, seed: number, i: number): Record<string, unknown> {
  const family = rng.pick(FAMILIES);
  const org = rng.pick(ORGS);
  const size = rng.pick(SIZES);
  const quant = rng.pick(QUANTS);
  const name = `${family}-${size}b-${rng.pick(["base", "instruct", "chat", "code"])}-${i}`;
  const created = EPOCH + rng.int(YEAR_MS);
  const params = Math.round(size * 1e9) + rng.int(50_000_000);
  const bytesPerParam = quant.startsWith("fp") || quant.startsWith("bf") ? 2 : quant.startsWith("q8") ? 1 : 0.55;
  const files = [];
  for (let f = 0, n = rng.between(1, 3); f < n; f += 1) {
    files.push({
      path: `model-${String(f + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`,
      sizeBytes: Long.fromNumber(Math.round((params * bytesPerParam) / n)),
      sha256: rng.hex(32),
    });
  }
  return {
    _id: modelRef(seed, i),
    name,
    family,
    version: `v${rng.between(1, 4)}.${rng.int(10)}`,
    parameters: Long.fromNumber(params),
    sizeBytes: Long.fromNumber(Math.round(params * bytesPerParam)),
    license: rng.pick(SPDX),
    sourceUrl: `https://huggingface.co/${org}/${name}`,
    sha256: rng.hex(32),
    tags: distinct(rng, TAGS, 2, 6),
    architecture: rng.pick(ARCHS),
    quantization: quant,
    contextLength: new Int32(rng.pick([2048, 4096, 8192, 32768, 131072])),
    description: sentence(rng, 25, 55),
    files,
    metrics: {
      mmlu: new Double(Math.round(rng.float() * 6000 + 3000) / 100),
      hellaswag: new Double(Math.round(rng.float() * 4000 + 5500) / 100),
      humaneval: new Double(Math.round(rng.float() * 7000) / 100),
    },
    downloads: Long.fromNumber(rng.int(5_000_000)),
    createdAt: new Date(created),
    updatedAt: new Date(created + rng.int(90 * 24 * 3600 * 1000)),
  };
}

function inventoryDoc(rng: Prng, seed: number, i: number): Record<string, unknown> {
  const site = rng.pick(SITES);
  const updated = EPOCH + rng.int(YEAR_MS);
  const replicas = [];
  for (let r = 0, n = rng.between(1, 3); r < n; r += 1) {
    replicas.push({
      host: `store-${rng.pick(SITES)}-${rng.between(1, 40)}.internal`,
      path: `/srv/models/${rng.hex(2)}/${rng.hex(8)}`,
      verifiedAt: new Date(updated - rng.int(30 * 24 * 3600 * 1000)),
      ok: rng.int(50) !== 0,
    });
  }
  const history = [];
  for (let h = 0, n = rng.between(1, 4); h < n; h += 1) {
    history.push({
      at: new Date(updated - rng.int(YEAR_MS / 2)),
      by: `ops:${rng.pick(["ana", "bo", "chen", "dara", "emeka", "fatima", "goran", "hana"])}`,
      change: rng.pick(["restock", "move", "verify", "retire", "reserve", "release"]),
      delta: new Int32(rng.between(-20, 40)),
    });
  }
  return {
    _id: objectId(rng, updated),
    site,
    sku: `${site.toUpperCase()}-${String(i).padStart(8, "0")}`,
    modelId: modelRef(seed, rng.int(Math.max(1, i))),
    quantity: new Int32(rng.int(500)),
    status: rng.pick(STATUSES),
    location: { region: site, rack: `R${rng.between(1, 64)}`, slot: new Int32(rng.between(1, 42)) },
    replicas,
    history,
    notes: sentence(rng, 10, 30),
    updatedAt: new Date(updated),
  };
}

function licenseDoc(rng: Prng, _seed: number, i: number): Record<string, unknown> {
  const base = SPDX[i % SPDX.length] as string;
  // Real SPDX ids first; past the list, organisations' own terms (LicenseRef-…), keeping spdxId unique.
  const spdxId = i < SPDX.length ? base : `LicenseRef-${base}-org${i}`;
  return {
    _id: objectId(rng, EPOCH + rng.int(YEAR_MS)),
    spdxId,
    name: `${base.replace(/-/g, " ")} License${i < SPDX.length ? "" : ` (variant ${i})`}`,
    url: `https://spdx.org/licenses/${base}.html`,
    osiApproved: rng.int(3) !== 0,
    permissions: distinct(rng, PERMISSIONS, 2, 5),
    conditions: distinct(rng, CONDITIONS, 1, 4),
    limitations: distinct(rng, LIMITATIONS, 1, 4),
    summary: `${sentence(rng, 60, 110)} ${sentence(rng, 40, 90)}`,
    acceptedBy: Long.fromNumber(rng.int(1_000_000)),
    updatedAt: new Date(EPOCH + rng.int(YEAR_MS)),
  };
}

function eventDoc(rng: Prng, seed: number, i: number): Record<string, unknown> {
  const ts = EPOCH + Math.floor((i * 7919) % YEAR_MS) + rng.int(1000);
  const type = rng.pick(EVENT_TYPES);
  const failed = type === "api.error" || rng.int(40) === 0;
  return {
    _id: objectId(rng, ts),
    ts: new Date(ts),
    type,
    actor: `user:${rng.hex(4)}`,
    modelId: modelRef(seed, rng.int(1000)),
    requestId: uuid(rng),
    ip: `${rng.between(1, 223)}.${rng.int(256)}.${rng.int(256)}.${rng.between(1, 254)}`,
    userAgent: rng.pick(USER_AGENTS),
    status: new Int32(failed ? rng.pick([400, 403, 404, 429, 500, 503]) : rng.pick([200, 200, 200, 206, 304])),
    durationMs: new Double(Math.round(rng.float() * 250_000) / 100),
    bytes: Long.fromNumber(type === "model.download" ? rng.int(2 ** 34) : rng.int(20_000)),
    details: {
      region: rng.pick(SITES),
      cache: rng.pick(["hit", "miss", "stale", "bypass"]),
      range: type === "model.download" ? `bytes=${rng.int(2 ** 30)}-` : null,
      referrer: rng.int(3) === 0 ? `https://huggingface.co/${rng.pick(ORGS)}` : null,
      session: rng.hex(16),
    },
    client: {
      sdk: rng.pick(["python", "node", "go", "rust", "curl", "browser"]),
      os: rng.pick(["linux", "darwin", "windows"]),
      arch: rng.pick(["x86_64", "arm64"]),
      locale: rng.pick(["en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR", "zh-CN"]),
      tokenId: rng.hex(12),
    },
    message: failed ? `request failed: ${sentence(rng, 12, 30)}` : sentence(rng, 8, 24),
    trace: Array.from({ length: rng.between(1, 3) }, (_, s) => ({
      span: rng.hex(8),
      name: rng.pick(["auth", "lookup", "sign-url", "stream", "audit"]),
      ms: new Double(Math.round(rng.float() * 10_000) / 100),
      order: new Int32(s),
    })),
  };
}

const BUILDERS: Record<DemoCollection, (rng: Prng, seed: number, i: number) => Record<string, unknown>> = {
  models: modelDoc,
  inventories: inventoryDoc,
  licenses: licenseDoc,
  events: eventDoc,
};

/**
 * Raw BSON documents for one demo collection, about 1 KiB each on average, until at least
 * `targetBytes` have been produced (at least one document when `targetBytes` > 0). The output
 * depends only on `collection`, `seed` and `targetBytes`. Unique indexes of the demo metadata
 * (name+version, sha256, site+sku, spdxId) hold across the whole stream.
 */
export async function* demoDocuments(collection: DemoCollection, options: DemoDataOptions): AsyncGenerator<Uint8Array> {
  const seed = options.seed ?? 1;
  const rng = createPrng(seed ^ Math.imul(DEMO_COLLECTIONS.indexOf(collection) + 1, 0x27d4eb2f));
  const build = BUILDERS[collection];
  let produced = 0;
  for (let i = 0; produced < options.targetBytes; i += 1) {
    const bytes = BSON.serialize(build(rng, seed, i));
    produced += bytes.length;
    yield bytes;
  }
}

/**
 * Splits `targetBytes` across the demo collections by `DEMO_SHARES` and returns one document
 * stream per collection, in `DEMO_COLLECTIONS` order.
 */
export function demoCollections(options: DemoDataOptions): Array<{ collection: DemoCollection; documents: AsyncGenerator<Uint8Array> }> {
  return DEMO_COLLECTIONS.map((collection) => ({
    collection,
    documents: demoDocuments(collection, { seed: options.seed ?? 1, targetBytes: Math.floor(options.targetBytes * DEMO_SHARES[collection]) }),
  }));
}

/** The MongoDB version a demo archive claims to come from (its header's `server_version`). */
export const DEMO_SERVER_VERSION = "8.0.4";

/**
 * A mongodump archive of the demo database "cloudsync" (collections models, inventories,
 * licenses, events, in that order, one at a time as mongodump lays them out) holding about
 * `targetBytes` of raw BSON documents, split by `DEMO_SHARES`. Same options, same bytes.
 * Each collection's metadata carries mongodump-style indexes and a `$jsonSchema` validator.
 *
 * Documents are generated as the stream is read, so memory stays flat at any size; generation
 * runs at roughly 40–50 MiB/s per core. Errors of the archive writer surface as stream errors.
 */
export function generateDemoArchive(options: DemoDataOptions): Readable {
  const seed = options.seed ?? 1;
  return writeArchive({
    header: {
      version: FORMAT_VERSION,
      serverVersion: DEMO_SERVER_VERSION,
      toolVersion: `cloudsync-demo ${VERSION}`,
      concurrentCollections: 1,
    },
    namespaces: demoCollections({ targetBytes: options.targetBytes, seed }).map(({ collection, documents }) => ({
      meta: {
        db: DEMO_DATABASE,
        collection,
        metadata: demoCollectionMetadata(collection, seed),
        // mongodump announces 0 when it does not know the size in advance; neither do we exactly.
        size: 0,
        type: "collection",
      },
      documents,
    })),
  });
}
