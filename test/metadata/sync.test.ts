// The sync client against the real server over HTTP: changed-only pushes, tombstones, --full,
// retries, disabled mode, the allow-list (sentinel crawl), and MongoDB sources (jongodb: polling
// fallback; a real mongod: change stream).
import { createServer } from "node:http";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError, RemoteError } from "../../runtime/src/errors.js";
import type { PublicModel } from "../../runtime/src/metadata/public-schema.js";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/server.js";
import { syncMetadata, type SyncMetadataOptions } from "../../runtime/src/metadata/sync.js";
import { Secret } from "../../runtime/src/secret.js";
import { mongoSkipReason, mongoTestUri, needsRealMongod } from "../support/mongo-service.js";
import { tempDir } from "../support/paths.js";
import { API_KEY, getJson, model, models } from "./helpers.js";

const SENTINEL = "PRIVATE-SENTINEL-7f3c9a1e";

async function* from<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

/** Every GET a crawler can reach: all pages, every model, summaries, page, assets, docs, health. */
async function crawl(base: string): Promise<string> {
  const bodies: string[] = [];
  const get = async (p: string): Promise<string> => {
    const t = await (await fetch(`${base}${p}`)).text();
    bodies.push(t);
    return t;
  };
  for (const p of ["/", "/assets/app.js", "/assets/app.css", "/api/inventory", "/api/licenses", "/healthz", "/docs/"]) await get(p);
  for (const sort of ["name", "id", "updatedAt", "sizeBytes"]) {
    let cursor: string | null = null;
    do {
      const page = JSON.parse(await get(`/api/models?sort=${sort}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)) as { items: PublicModel[]; nextCursor: string | null };
      if (sort === "id") for (const m of page.items) await get(`/api/models/${encodeURIComponent(m.id)}`);
      cursor = page.nextCursor;
    } while (cursor);
  }
  return bodies.join("\n");
}

describe("syncMetadata with an in-memory source", () => {
  const tmp = tempDir("meta-sync");
  let server: MetadataServer;
  const lines: string[] = [];
  const opts = (source: AsyncIterable<PublicModel>, extra: Partial<SyncMetadataOptions> = {}): SyncMetadataOptions => ({
    enabled: true,
    endpoint: server.url,
    apiKey: API_KEY,
    source,
    statePath: path.join(tmp.dir, "state.json"),
    log: (l) => lines.push(l),
    ...extra,
  });

  beforeAll(async () => {
    server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), apiKey: API_KEY, rateLimit: { burst: 1000, perSecond: 1000 } });
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  it("makes no network call when disabled, and says so", async () => {
    let connections = 0;
    const trap = createServer(() => undefined);
    trap.on("connection", (s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
    const port = (trap.address() as { port: number }).port;
    const log: string[] = [];
    const r = await syncMetadata({ enabled: false, endpoint: `http://127.0.0.1:${port}`, apiKey: API_KEY, source: from([model(1)]), statePath: path.join(tmp.dir, "never.json"), log: (l) => log.push(l) });
    trap.close();
    expect(r).toEqual({ enabled: false, mode: "disabled", pushed: 0, deleted: 0, unchanged: 0, invalid: 0, batches: 0 });
    expect(log).toEqual(["metadata sync: disabled (CLOUD_SYNC_ENABLED=false); no network call made"]);
    expect(connections).toBe(0);
    expect(() => statSync(path.join(tmp.dir, "never.json"))).toThrow();
  });

  it("pushes everything first, then only what changed, then tombstones what left the source", async () => {
    const first = await syncMetadata(opts(from(models(0, 120)), { batchSize: 50 }));
    expect(first).toMatchObject({ mode: "once", pushed: 120, deleted: 0, unchanged: 0, batches: 3 });
    const again = await syncMetadata(opts(from(models(0, 120))));
    expect(again).toMatchObject({ pushed: 0, deleted: 0, unchanged: 120, batches: 0 });
    const changed = models(0, 118);
    changed[7] = { ...model(7), description: "edited" };
    const third = await syncMetadata(opts(from(changed)));
    expect(third).toMatchObject({ pushed: 1, deleted: 2, unchanged: 117, batches: 2 });
    expect(((await getJson(`${server.url}/api/models/model-00007`)).body as PublicModel).description).toBe("edited");
    expect((await getJson(`${server.url}/api/models/model-00119`)).status).toBe(404);
    expect(((await getJson(`${server.url}/api/inventory`)).body as { models: number }).models).toBe(118);
    const state = JSON.parse(readFileSync(path.join(tmp.dir, "state.json"), "utf8")) as { acked: Record<string, string> };
    expect(Object.keys(state.acked)).toHaveLength(118);
    expect(statSync(path.join(tmp.dir, "state.json")).mode & 0o777).toBe(0o600);
  });

  it("--full pushes every model and tombstones server models the source lacks, even without state", async () => {
    const r = await syncMetadata(opts(from(models(0, 100)), { full: true, statePath: path.join(tmp.dir, "fresh-state.json") }));
    expect(r).toMatchObject({ pushed: 100, deleted: 18, unchanged: 0 });
    expect(((await getJson(`${server.url}/api/inventory`)).body as { models: number }).models).toBe(100);
  });

  it("skips and reports a source document that fails the public schema instead of failing the batch", async () => {
    const r = await syncMetadata(opts(from([...models(0, 100), { ...model(500), sourceUrl: "ftp://x" }]), { statePath: path.join(tmp.dir, "invalid.json") }));
    expect(r).toMatchObject({ pushed: 100, invalid: 1 });
    expect(lines).toContain("metadata sync: skipped model model-00500: sourceUrl: must match ^https?://");
  });

  it("fails with AuthError on a wrong key and leaves the state untouched", async () => {
    const before = readFileSync(path.join(tmp.dir, "state.json"), "utf8");
    await expect(syncMetadata(opts(from([{ ...model(1), description: "x" }]), { apiKey: new Secret("wrong-key-0123456789abcdef") }))).rejects.toBeInstanceOf(AuthError);
    expect(readFileSync(path.join(tmp.dir, "state.json"), "utf8")).toBe(before);
  });

  it("retries with back-off and then fails with RemoteError when the server keeps answering 503", async () => {
    let hits = 0;
    const flaky = createServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(503, { "content-type": "application/json" }).end('{"message":"down for maintenance"}');
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(flaky.address() as { port: number }).port}`;
    try {
      const err = await syncMetadata(opts(from([model(1)]), { endpoint: url, statePath: path.join(tmp.dir, "flaky.json"), push: { attempts: 3, backoffMs: 20 } })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as Error).message).toBe(`metadata push to ${url}: failed after 3 attempts: 503 down for maintenance`);
      expect(hits).toBe(3);
    } finally {
      flaky.close();
    }
  });

  it("retries through a server that fails twice, with the same idempotency key, and succeeds", async () => {
    const keys: string[] = [];
    const proxy = createServer((req, res) => {
      keys.push(String(req.headers["idempotency-key"]));
      if (keys.length <= 2) {
        req.resume();
        res.writeHead(502).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void fetch(`${server.url}${req.url}`, { method: "POST", headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) }).then(async (r) => {
          res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text());
        });
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const r = await syncMetadata(opts(from([{ ...model(2), description: "via retries" }]), { endpoint: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, statePath: path.join(tmp.dir, "retry.json"), push: { attempts: 4, backoffMs: 10 } }));
      expect(r).toMatchObject({ pushed: 1, batches: 1 });
      expect(keys).toHaveLength(3);
      expect(new Set(keys).size).toBe(1);
      expect(((await getJson(`${server.url}/api/models/model-00002`)).body as PublicModel).description).toBe("via retries");
    } finally {
      proxy.close();
    }
  });
});

const mongoSkip = mongoSkipReason();
if (mongoSkip) console.warn(`metadata sync MongoDB tests skipped: ${mongoSkip}`);

describe.skipIf(Boolean(mongoSkip))(`syncMetadata from MongoDB${mongoSkip ? ` (skipped: ${mongoSkip})` : ""}`, () => {
  const tmp = tempDir("meta-mongo");
  let server: MetadataServer;
  let client: MongoClient;
  const dbName = `meta_sync_${process.pid}`;
  const uri = mongoTestUri() as string;

  beforeAll(async () => {
    server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), apiKey: API_KEY, docsDir: tmp.dir });
    client = new MongoClient(uri);
    await client.connect();
    const docs = models(0, 40).map((m, i) => ({
      _id: m.id,
      ...m,
      updatedAt: new Date(m.updatedAt),
      sizeBytes: m.sizeBytes,
      // Private fields that must never leave the home machine.
      internalNotes: `${SENTINEL} notes ${i}`,
      weightsPath: `/srv/models/${SENTINEL}/${m.id}.safetensors`,
      owner: { email: `${SENTINEL}@home.lan` },
    }));
    await client.db(dbName).collection("models").insertMany(docs as never[]);
  });
  afterAll(async () => {
    await client?.db(dbName).collection("models").deleteMany({});
    await client?.close();
    await server?.close();
    tmp.cleanup();
  });

  it("pushes only allow-listed fields (the projection is enforced in code) and the sentinel never appears in any GET", async () => {
    const r = await syncMetadata({ enabled: true, endpoint: server.url, apiKey: API_KEY, source: { uri, database: dbName, collection: "models" }, statePath: path.join(tmp.dir, "s.json") });
    expect(r).toMatchObject({ mode: "once", pushed: 40, invalid: 0 });
    expect((await getJson(`${server.url}/api/models/model-00003`)).body).toEqual(model(3));
    const everything = await crawl(server.url);
    expect(everything).toContain("model-00039");
    expect(everything).not.toContain(SENTINEL);
    expect(readFileSync(path.join(tmp.dir, "s.json"), "utf8")).not.toContain(SENTINEL);
  });

  it("--watch falls back to polling by updatedAt where change streams are unsupported, says so, and picks up new documents", async (ctx) => {
    const real = !needsRealMongod("change streams").skip;
    ctx.skip(real, "a real mongod replica set uses the change stream: covered by the next test");
    const lines: string[] = [];
    const controller = new AbortController();
    const run = syncMetadata({ enabled: true, endpoint: server.url, apiKey: API_KEY, source: { uri, database: dbName, collection: "models" }, statePath: path.join(tmp.dir, "w.json"), watch: true, pollIntervalMs: 200, signal: controller.signal, log: (l) => lines.push(l) });
    const coll = client.db(dbName).collection("models");
    await new Promise((r) => setTimeout(r, 600));
    const fresh = { ...model(900), updatedAt: new Date(Date.UTC(2027, 0, 1)) };
    await coll.insertOne({ _id: fresh.id, ...fresh, internalNotes: SENTINEL } as never);
    let seen = 404;
    for (let i = 0; i < 50 && seen !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await getJson(`${server.url}/api/models/model-00900`)).status;
    }
    controller.abort();
    const result = await run;
    expect(seen).toBe(200);
    expect(result.mode).toBe("polling");
    expect(lines.some((l) => l.startsWith("metadata sync: change streams unsupported here (") && l.endsWith("); polling by updatedAt every 0.2 s"))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(tmp.dir, "w.json"), "utf8")).lastUpdatedAt).toBe("2027-01-01T00:00:00.000Z");
    expect(await crawl(server.url)).not.toContain(SENTINEL);
  });

  const cs = needsRealMongod("change streams");
  it.skipIf(cs.skip)(`--watch follows a change stream and persists its resume token ${cs.message}`, async () => {
    const lines: string[] = [];
    const controller = new AbortController();
    const statePath = path.join(tmp.dir, "cs.json");
    const run = syncMetadata({ enabled: true, endpoint: server.url, apiKey: API_KEY, source: { uri, database: dbName, collection: "models" }, statePath, watch: true, signal: controller.signal, log: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 1500));
    await client.db(dbName).collection("models").updateOne({ _id: "model-00004" as never }, { $set: { description: "via change stream", internalNotes: SENTINEL } });
    let got: PublicModel | undefined;
    for (let i = 0; i < 60 && got?.description !== "via change stream"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      got = (await getJson(`${server.url}/api/models/model-00004`)).body as PublicModel;
    }
    controller.abort();
    expect((await run).mode).toBe("change-stream");
    expect(got?.description).toBe("via change stream");
    expect(lines).toContain("metadata sync: watching with a MongoDB change stream (resume token persisted)");
    expect(JSON.parse(readFileSync(statePath, "utf8")).resumeToken).toBeTruthy();
  });
});
