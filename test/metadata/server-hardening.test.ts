// Issue 9, part D (items 21-27) against the real server over real HTTP (in-process Fastify on a
// real port): read limits, query allow-lists, cached aggregates, throttled error logs, id and
// router limits, URL and date formats, inventory arithmetic, and the server-rendered page.
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublicModel } from "../../runtime/src/metadata/public-schema.js";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/server.js";
import { tempDir } from "../support/paths.js";
import { API_KEY, getJson, model, models, signedPost } from "./helpers.js";

const ROUTES = ["/api/models", "/api/models/model-00001", "/api/inventory", "/api/licenses", "/healthz", "/", "/assets/app.js", "/assets/app.css", "/docs/"];

describe("metadata server: reads are limited per client and parameters allow-listed (items 21, 22)", () => {
  const tmp = tempDir("meta-hard-read");
  const dbPath = path.join(tmp.dir, "m.sqlite");
  let server: MetadataServer;
  let limited: MetadataServer;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await createMetadataServer({ dbPath, apiKey: API_KEY, readRateLimit: false, docsDir: tmp.dir, log: (l) => lines.push(l) });
    expect((await signedPost(server.url, { models: models(0, 10) })).status).toBe(200);
    limited = await createMetadataServer({ dbPath: path.join(tmp.dir, "l.sqlite"), readRateLimit: { burst: 3, perSecond: 0.001 } });
  });
  afterAll(async () => {
    await server.close();
    await limited.close();
    tmp.cleanup();
  });

  it("answers a client past its read limit with 429 and Retry-After, cached answers included", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    // The same URL: the second and third are served from the response cache.
    for (let i = 0; i < 5; i++) {
      last = await fetch(`${limited.url}/api/models`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(last?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await last?.json()).toEqual({ error: "rate_limited", message: `too many requests; retry after ${last?.headers.get("retry-after")} s` });
    expect((await fetch(`${limited.url}/healthz`)).status).toBe(429);
  });

  it("behind a trusted proxy, limits each forwarded client on its own", async () => {
    const proxied = await createMetadataServer({ dbPath: path.join(tmp.dir, "p.sqlite"), trustProxy: "loopback", readRateLimit: { burst: 1, perSecond: 0.001 } });
    try {
      const from = async (address: string): Promise<number> => (await fetch(`${proxied.url}/healthz`, { headers: { "x-forwarded-for": address } })).status;
      expect([await from("203.0.113.1"), await from("203.0.113.1"), await from("203.0.113.2"), await from("198.51.100.7, 203.0.113.2")]).toEqual([200, 429, 200, 429]);
    } finally {
      await proxied.close();
    }
  });

  it("refuses an unknown parameter on every route with 400 naming it", async () => {
    for (const route of ROUTES) {
      const r = await getJson(`${server.url}${route}?r=${Math.random()}`);
      expect([route, r.status, r.body]).toEqual([route, 400, { error: "invalid_request", field: "r", message: "querystring r: unknown parameter" }]);
    }
  });

  it.each(["constructor", "__proto__", "toString", "valueOf", "hasOwnProperty"])("refuses ?%s=1 on every route with 400 naming it, and logs nothing", async (name) => {
    const before = lines.length;
    for (const route of ROUTES) {
      const r = await getJson(`${server.url}${route}?${name}=1`);
      expect([route, r.status, r.body]).toEqual([route, 400, { error: "invalid_request", field: name, message: `querystring ${name}: unknown parameter` }]);
    }
    expect(lines.slice(before)).toEqual([]);
  });

  it("keeps the inventory and licence aggregates until the next push, whatever URL asks", async () => {
    const first = (await getJson(`${server.url}/api/inventory`)).body as { models: number };
    expect(first.models).toBe(10);
    expect((await getJson(`${server.url}/api/licenses`)).status).toBe(200);
    // Change the data behind the server's back: only a push may make it recompute.
    const db = new Database(dbPath);
    db.prepare("UPDATE models SET deleted_at = 'x' WHERE id = 'model-00001'").run();
    db.close();
    expect(((await getJson(`${server.url}/api/inventory?`)).body as { models: number }).models).toBe(10);
    expect(((await getJson(`${server.url}/api/licenses?`)).body as Array<{ models: string[] }>).flatMap((l) => l.models)).toContain("model-00001");
    expect(await (await fetch(`${server.url}/?q=`)).text()).toContain('<p id="summary">10 models,');
    expect((await signedPost(server.url, { models: [model(20)] })).status).toBe(200);
    expect(((await getJson(`${server.url}/api/inventory`)).body as { models: number }).models).toBe(10);
    expect(((await getJson(`${server.url}/api/licenses`)).body as Array<{ models: string[] }>).flatMap((l) => l.models)).not.toContain("model-00001");
  });
});

describe("metadata server: error log lines are throttled (item 22)", () => {
  it("logs the first 20 internal errors of a burst, then one line a second saying how many were suppressed", async () => {
    const tmp = tempDir("meta-hard-log");
    const dbPath = path.join(tmp.dir, "m.sqlite");
    let clock = Date.UTC(2026, 5, 1);
    const lines: string[] = [];
    const server = await createMetadataServer({ dbPath, apiKey: API_KEY, readRateLimit: false, now: () => clock, log: (l) => lines.push(l) });
    try {
      expect((await signedPost(server.url, { models: models(0, 3) }, { now: clock })).status).toBe(200);
      // A real fault: the table disappears under the running server.
      const db = new Database(dbPath);
      db.exec("DROP TABLE models");
      db.close();
      const before = lines.length;
      for (let i = 0; i < 100; i++) {
        const r = await getJson(`${server.url}/api/models?q=x${i}`);
        expect(r).toMatchObject({ status: 500, body: { error: "internal", message: "internal error" } });
      }
      expect(lines.slice(before)).toEqual(Array.from({ length: 20 }, (_, i) => `metadata: GET /api/models?q=x${i}: internal error: no such table: models`));
      clock += 1000;
      expect((await getJson(`${server.url}/api/models?q=y`)).status).toBe(500);
      expect(lines.slice(before + 20)).toEqual(["metadata: GET /api/models?q=y: internal error: no such table: models (80 similar lines suppressed before this one)"]);
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});

describe("metadata server: schema limits agree with the router, the browser and SQLite (items 23-26)", () => {
  const tmp = tempDir("meta-hard-schema");
  const dbPath = path.join(tmp.dir, "m.sqlite");
  let server: MetadataServer;
  beforeAll(async () => {
    server = await createMetadataServer({ dbPath, apiKey: API_KEY, readRateLimit: false, rateLimit: { burst: 1000, perSecond: 1000 } });
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  const refused = async (bad: Record<string, unknown>, field: string, message: string): Promise<void> => {
    const r = await signedPost(server.url, JSON.stringify({ models: [bad] }));
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: "invalid_request", field, message });
  };

  it("serves a model whose id has the schema's full 128 characters, sent plain or percent-encoded; 129 is refused on push", async () => {
    const id = `a:b@c+d.${"x".repeat(120)}`;
    expect(id).toHaveLength(128);
    expect((await signedPost(server.url, { models: [{ ...model(1), id }] })).status).toBe(200);
    expect((await getJson(`${server.url}/api/models/${id}`)).body).toEqual({ ...model(1), id });
    const encoded = [...id].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
    expect((await getJson(`${server.url}/api/models/${encoded}`)).body).toEqual({ ...model(1), id });
    await refused({ ...model(2), id: `${id}x` }, "models[0].id", "body models[0].id: must NOT have more than 128 characters");
    expect((await getJson(`${server.url}/api/models/${id}x`)).status).toBe(404);
  });

  it("refuses a source URL the WHATWG parser rejects (port 99999), as the page's browser would", async () => {
    await refused({ ...model(3), sourceUrl: "https://huggingface.co:99999/x" }, "models[0].sourceUrl", 'body models[0].sourceUrl: must match format "uri"');
    await refused({ ...model(3), sourceUrl: "https://exa mple.com/" }, "models[0].sourceUrl", 'body models[0].sourceUrl: must match format "uri"');
    expect((await signedPost(server.url, { models: [{ ...model(3), sourceUrl: "https://huggingface.co:8443/a b" }] })).status).toBe(200);
  });

  it.each([
    ["a leap second", "2016-12-31T23:59:60Z"],
    ["an offset without minutes", "2021-01-01T00:00:00+01"],
    ["no offset", "2021-01-01T00:00:00"],
    ["30 February", "2021-02-30T00:00:00Z"],
    ["hour 24", "2021-01-01T24:00:00Z"],
    ["a UTC year past 9999", "9999-12-31T23:59:59-23:59"],
  ])("refuses an updatedAt with %s with 400 naming the field", async (_what, updatedAt) => {
    await refused({ ...model(4), updatedAt }, "models[0].updatedAt", 'body models[0].updatedAt: must match format "date-time"');
  });

  it("accepts and stores in UTC every date-time form it admits", async () => {
    const forms = ["2024-02-29T23:59:59.123456Z", "2021-01-01T00:30:00+01:00", "2021-01-01t00:00:00z", "0000-01-01T00:00:00Z"];
    const batch = forms.map((updatedAt, i) => ({ ...model(10 + i), updatedAt }));
    expect((await signedPost(server.url, { models: batch })).status).toBe(200);
    for (const m of batch) expect((await getJson(`${server.url}/api/models/${m.id}`)).body).toEqual(m);
    const page = (await getJson(`${server.url}/api/models?sort=updatedAt&limit=200`)).body as { items: PublicModel[] };
    expect(page.items.map((m) => m.id).slice(0, 3)).toEqual(["model-00013", "model-00011", "model-00012"]);
  });

  it("refuses sizeBytes above 2^53 − 1 and sums 1000 models at that maximum without overflow", async () => {
    await refused({ ...model(5), sizeBytes: 2 ** 53 }, "models[0].sizeBytes", "body models[0].sizeBytes: must be <= 9007199254740991");
    await refused({ ...model(5), sizeBytes: 1e16 }, "models[0].sizeBytes", "body models[0].sizeBytes: must be <= 9007199254740991");
    const huge = Array.from({ length: 1000 }, (_, i) => ({ ...model(1000 + i), family: "huge", sizeBytes: Number.MAX_SAFE_INTEGER }));
    expect((await signedPost(server.url, { models: huge })).status).toBe(200);
    const inv = await getJson(`${server.url}/api/inventory`);
    expect(inv.status).toBe(200);
    const body = inv.body as { models: number; totalSizeBytes: number; families: Array<{ family: string; sizeBytes: number }> };
    expect(body.totalSizeBytes).toBeGreaterThanOrEqual(1000 * Number.MAX_SAFE_INTEGER);
    expect(body.totalSizeBytes).toBeLessThan(1000 * Number.MAX_SAFE_INTEGER + 1e9);
    expect(body.families.find((f) => f.family === "huge")?.sizeBytes).toBe(1000 * Number.MAX_SAFE_INTEGER);
    expect(await (await fetch(`${server.url}/`)).text()).toContain(`<p id="summary">${body.models} models, 7.8 EiB in total.</p>`);
  });
});

describe("metadata server: the page is rendered on the server (items 24, 27)", () => {
  const tmp = tempDir("meta-hard-page");
  const dbPath = path.join(tmp.dir, "m.sqlite");
  let server: MetadataServer;
  const named = (i: number, name: string, extra: Partial<PublicModel> = {}): PublicModel => ({ ...model(i), name, ...extra });
  beforeAll(async () => {
    server = await createMetadataServer({ dbPath, apiKey: API_KEY, readRateLimit: false });
    const batch = [named(1, "Model 10"), named(2, "Model 2"), named(3, "model 1"), named(4, "Model 2b"), named(5, "gpt\u202Eexe.fdp", { license: "unnamed-1.0" })];
    expect((await signedPost(server.url, { models: batch, licenses: [{ id: "mit", name: "MIT License" }, { id: "apache-2.0", name: "Apache License 2.0" }] })).status).toBe(200);
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  const names = (html: string): string[] => [...html.matchAll(/<td class="name"><bdi>([^<]*)<\/bdi>/g)].map((m) => m[1] as string);

  it("renders the rows in natural name order, with licence names, and bidirectional overrides neutralised", async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(names(html)).toEqual(["gpt\uFFFDexe.fdp", "model 1", "Model 2", "Model 2b", "Model 10"]);
    expect(html).not.toContain("\u202E");
    expect([...html.matchAll(/<td class="license" title="([^"]*)"><bdi>([^<]*)</g)].map((m) => `${m[1]}=${m[2]}`)).toEqual(["unnamed-1.0=unnamed-1.0", "cc-by-4.0=cc-by-4.0", "llama3=llama3", "apache-2.0=Apache License 2.0", "mit=MIT License"]);
    expect(html).toContain('<option value="mit">MIT License (1)</option>');
    expect(html).toContain('<p id="status" aria-live="polite">5 models shown.</p>');
    const desc = await (await fetch(`${server.url}/?sort=name&order=desc`)).text();
    expect(names(desc)).toEqual(["Model 10", "Model 2b", "Model 2", "model 1", "gpt\uFFFDexe.fdp"]);
    expect(desc).toContain('<th scope="col" aria-sort="descending"><a href="/?sort=name&#38;order=asc">Name ▼</a></th>');
  });

  it("treats the form's empty fields as no filter and filters by a chosen licence", async () => {
    expect(names(await (await fetch(`${server.url}/?q=&license=&sort=name&order=asc`)).text())).toHaveLength(5);
    expect(names(await (await fetch(`${server.url}/?q=&license=mit`)).text())).toEqual(["Model 10"]);
  });

  it("draws every row when one stored row has a URL the parser rejects", async () => {
    // A row written by an older server, whose schema admitted this URL.
    const db = new Database(dbPath);
    const doc = JSON.stringify({ ...named(3, "model 1"), sourceUrl: "https://huggingface.co:99999/x" });
    db.prepare("UPDATE models SET doc = ? WHERE id = 'model-00003'").run(doc);
    db.close();
    expect((await signedPost(server.url, { models: [named(6, "Model 3")] })).status).toBe(200);
    const html = await (await fetch(`${server.url}/`)).text();
    expect(names(html)).toEqual(["gpt\uFFFDexe.fdp", "model 1", "Model 2", "Model 2b", "Model 3", "Model 10"]);
    expect(html).toMatch(/<tr data-id="model-00003">.*<td><\/td><td>2026-01-01<\/td>/);
  });
});

describe("metadata server: a database from before natural name order", () => {
  it("gains the order when the server opens it, and old cursors are refused with 400", async () => {
    const tmp = tempDir("meta-hard-migrate");
    const dbPath = path.join(tmp.dir, "m.sqlite");
    try {
      let server = await createMetadataServer({ dbPath, apiKey: API_KEY, readRateLimit: false });
      const batch = [{ ...model(1), name: "Model 10" }, { ...model(2), name: "Model 9" }];
      expect((await signedPost(server.url, { models: batch })).status).toBe(200);
      await server.close();
      // Back to the earlier layout: no name_key column, the name_lc index.
      const db = new Database(dbPath);
      db.exec("DROP INDEX models_name_key; ALTER TABLE models DROP COLUMN name_key; CREATE INDEX models_name ON models(name_lc, id) WHERE deleted_at IS NULL");
      db.close();
      server = await createMetadataServer({ dbPath, readRateLimit: false });
      try {
        expect(((await getJson(`${server.url}/api/models`)).body as { items: PublicModel[] }).items.map((m) => m.name)).toEqual(["Model 9", "Model 10"]);
        const oldCursor = Buffer.from(JSON.stringify(["name", "asc", "model 10", "model-00001"])).toString("base64url");
        expect(await getJson(`${server.url}/api/models?cursor=${oldCursor}`)).toMatchObject({ status: 400, body: { field: "cursor" } });
      } finally {
        await server.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
