// Read side of the metadata API over real HTTP: keyset pagination, filters, ETag/304, caching
// headers, tombstones, inventory, licences, docs, page assets.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublicModel } from "../../runtime/src/metadata/public-schema.js";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/server.js";
import { tempDir } from "../support/paths.js";
import { API_KEY, getJson, model, models, signedPost } from "./helpers.js";

describe("metadata read API", () => {
  const tmp = tempDir("meta-read");
  let server: MetadataServer;
  const all = models(0, 237);

  beforeAll(async () => {
    const docs = path.join(tmp.dir, "docs");
    mkdirSync(docs);
    writeFileSync(path.join(docs, "README.md"), "# Models\n");
    writeFileSync(path.join(docs, ".secret.md"), "hidden\n");
    writeFileSync(path.join(tmp.dir, "outside.md"), "outside\n");
    server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), apiKey: API_KEY, docsDir: docs, readRateLimit: false });
    const r = await signedPost(server.url, { models: all, licenses: [{ id: "mit", name: "MIT License", url: "https://opensource.org/license/mit" }] });
    expect(r.status).toBe(200);
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  async function walk(query: string): Promise<PublicModel[]> {
    const out: PublicModel[] = [];
    let cursor: string | null = null;
    do {
      const page = (await getJson(`${server.url}/api/models?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).body as { items: PublicModel[]; nextCursor: string | null };
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  it.each([
    ["name asc", "sort=name&limit=50", [...all].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1))],
    ["id desc", "sort=id&order=desc&limit=33", [...all].sort((a, b) => (a.id < b.id ? 1 : -1))],
    ["sizeBytes asc", "sort=sizeBytes&limit=200", [...all].sort((a, b) => (a.sizeBytes as number) - (b.sizeBytes as number) || (a.id < b.id ? -1 : 1))],
    ["updatedAt desc", "sort=updatedAt&order=desc&limit=7", [...all].reverse()],
  ])("pages through every model exactly once by %s", async (_name, query, expected) => {
    const got = await walk(query);
    expect(got.map((m) => m.id)).toEqual(expected.map((m) => m.id));
    expect(got).toEqual(expected);
  });

  it("filters by licence, source host, name substring and free text", async () => {
    expect((await walk("license=mit&limit=200")).map((m) => m.id)).toEqual(all.filter((m) => m.license === "mit").map((m) => m.id));
    expect(await walk("source=huggingface.co&limit=200")).toHaveLength(237);
    expect(await walk("source=example.com")).toEqual([]);
    expect((await walk("name=00012%20llama")).map((m) => m.id)).toEqual(["model-00012"]);
    expect((await walk("q=T3&license=apache-2.0&sort=id")).map((m) => m.id)).toEqual(all.filter((m) => m.tags?.includes("t3") && m.license === "apache-2.0").map((m) => m.id));
    // LIKE wildcards in the input are literal.
    expect(await walk("name=%25")).toEqual([]);
  });

  it("rejects a page size over the cap, unknown parameters and foreign cursors with 400 naming the field", async () => {
    const answer = async (query: string): Promise<[number, unknown]> => {
      const r = await getJson(`${server.url}/api/models?${query}`);
      return [r.status, r.body];
    };
    expect(await getJson(`${server.url}/api/models?limit=201`)).toMatchObject({ status: 400, body: { field: "limit" } });
    expect(await getJson(`${server.url}/api/models?limit=0`)).toMatchObject({ status: 400, body: { field: "limit" } });
    expect(await getJson(`${server.url}/api/models?secret=1`)).toMatchObject({ status: 400, body: { field: "secret" } });
    expect(await getJson(`${server.url}/api/models?sort=password`)).toMatchObject({ status: 400, body: { field: "sort" } });
    expect(await answer(`secret=1`)).toEqual([400, { error: "invalid_request", field: "secret", message: "querystring secret: unknown parameter" }]);
    expect(await answer(`limit=5&limit=6`)).toEqual([400, { error: "invalid_request", field: "limit", message: "querystring limit: must be given once, as a string" }]);
    expect(await answer(`limit=5x`)).toEqual([400, { error: "invalid_request", field: "limit", message: 'querystring limit: must match pattern "^[0-9]{1,6}$"' }]);
    expect(await answer(`order=sideways`)).toEqual([400, { error: "invalid_request", field: "order", message: "querystring order: must be one of asc, desc" }]);
    expect(await answer(`name=${"a".repeat(201)}`)).toEqual([400, { error: "invalid_request", field: "name", message: "querystring name: must NOT have more than 200 characters" }]);
    expect((await getJson(`${server.url}/api/models?name=${"a".repeat(200)}`)).status).toBe(200);
    const first = (await getJson(`${server.url}/api/models?sort=name&limit=5`)).body as { nextCursor: string };
    expect(await getJson(`${server.url}/api/models?sort=id&limit=5&cursor=${first.nextCursor}`)).toMatchObject({ status: 400, body: { field: "cursor" } });
    expect(await getJson(`${server.url}/api/models?cursor=garbage`)).toMatchObject({ status: 400, body: { field: "cursor" } });
  });

  it("sends ETag and Cache-Control, answers 304 to If-None-Match, and changes the ETag after a push", async () => {
    const first = await fetch(`${server.url}/api/models?limit=10`);
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^"[0-9a-f]{12}-\d+"$/);
    expect(first.headers.get("cache-control")).toBe("public, max-age=30, stale-while-revalidate=60");
    expect(first.headers.get("access-control-allow-origin")).toBe("*");
    const again = await fetch(`${server.url}/api/models?limit=10`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect((await signedPost(server.url, { models: [{ ...model(3), description: "changed" }] })).status).toBe(200);
    const after = await fetch(`${server.url}/api/models?limit=10`, { headers: { "if-none-match": etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
    expect(((await getJson(`${server.url}/api/models/model-00003`)).body as PublicModel).description).toBe("changed");
  });

  it("answers a repeated GET (served from the response cache) with the same status, headers and bytes, and never stale after a push", async () => {
    const snapshot = async (url: string): Promise<{ status: number; headers: Record<string, string>; body: string }> => {
      const res = await fetch(url);
      const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== "date"));
      return { status: res.status, headers, body: await res.text() };
    };
    for (const p of ["/api/models?limit=4&sort=id", "/api/models/model-00007", "/api/inventory", "/api/licenses"]) {
      const first = await snapshot(`${server.url}${p}`);
      expect(first.status).toBe(200);
      expect(first.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(first.headers["x-content-type-options"]).toBe("nosniff");
      expect(await snapshot(`${server.url}${p}`)).toEqual(first);
    }
    const before = await snapshot(`${server.url}/api/models/model-00007`);
    expect((await signedPost(server.url, { models: [{ ...model(7), description: "cached no more" }] })).status).toBe(200);
    const after = await snapshot(`${server.url}/api/models/model-00007`);
    expect((JSON.parse(after.body) as PublicModel).description).toBe("cached no more");
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(await snapshot(`${server.url}/api/models/model-00007`)).toEqual(after);
    expect((await signedPost(server.url, { models: [model(7)] })).status).toBe(200);
  });

  it("hides tombstoned models everywhere and revives them on a later upsert", async () => {
    expect((await signedPost(server.url, { models: [], deleted: ["model-00005", "model-99999"] })).json).toMatchObject({ upserted: 0, deleted: 1 });
    expect((await getJson(`${server.url}/api/models/model-00005`)).status).toBe(404);
    expect((await walk("sort=id&limit=200")).map((m) => m.id)).not.toContain("model-00005");
    expect(((await getJson(`${server.url}/api/inventory`)).body as { models: number }).models).toBe(236);
    expect((await signedPost(server.url, { models: [model(5)] })).status).toBe(200);
    expect((await getJson(`${server.url}/api/models/model-00005`)).body).toEqual(model(5));
  });

  it("summarises the inventory and the licences exactly", async () => {
    const inv = (await getJson(`${server.url}/api/inventory`)).body as { models: number; totalSizeBytes: number; licenses: Array<{ license: string; models: number }>; updatedAt: string };
    expect(inv.models).toBe(237);
    expect(inv.totalSizeBytes).toBe(all.reduce((s, m) => s + (m.sizeBytes as number), 0));
    expect(inv.licenses).toEqual([
      { license: "apache-2.0", models: 60 },
      { license: "llama3", models: 59 },
      { license: "mit", models: 59 },
      { license: "cc-by-4.0", models: 59 },
    ].sort((a, b) => b.models - a.models || (a.license < b.license ? -1 : 1)));
    expect(inv.updatedAt).toBe(all[236]?.updatedAt);
    const lic = (await getJson(`${server.url}/api/licenses`)).body as Array<{ id: string; name: string; url: string | null; models: string[] }>;
    expect(lic.map((l) => l.id)).toEqual(["apache-2.0", "cc-by-4.0", "llama3", "mit"]);
    expect(lic.find((l) => l.id === "mit")).toEqual({ id: "mit", name: "MIT License", url: "https://opensource.org/license/mit", models: all.filter((m) => m.license === "mit").map((m) => m.id) });
    expect(lic.find((l) => l.id === "llama3")?.url).toBeNull();
  });

  it("serves documentation files, never dot-files or anything outside the directory", async () => {
    const doc = await fetch(`${server.url}/docs/README.md`);
    expect(doc.status).toBe(200);
    expect(doc.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(await doc.text()).toBe("# Models\n");
    const index = await (await fetch(`${server.url}/docs/`)).text();
    expect(index).toContain('href="/docs/README.md"');
    expect(index).not.toContain("secret");
    for (const probe of ["/docs/.secret.md", "/docs/..%2Foutside.md", "/docs/%2e%2e/outside.md", "/docs/../outside.md", "/docs/nope.md"]) {
      expect((await fetch(`${server.url}${probe}`)).status, probe).toBe(404);
    }
  });

  it("serves the inventory page and its assets under a strict CSP", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script src="/assets/app.js" defer></script>');
    expect((await fetch(`${server.url}/assets/app.js`)).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await getJson(`${server.url}/healthz`)).headers.get("cache-control")).toBe("no-store");
  });
});
