// §5 security cases against the real server over real HTTP (in-process, with an injected clock).
import { connect } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/server.js";
import { Secret } from "../../runtime/src/secret.js";
import { tempDir } from "../support/paths.js";
import { getJson, model, models, signedPost } from "./helpers.js";

describe("metadata push security", () => {
  const tmp = tempDir("meta-sec");
  let server: MetadataServer;
  let clock = Date.UTC(2026, 5, 1, 12, 0, 0);
  const lines: string[] = [];

  beforeAll(async () => {
    server = await createMetadataServer({
      dbPath: path.join(tmp.dir, "m.sqlite"),
      apiKey: new Secret("test-key-0123456789abcdef-not-a-real-secret"),
      now: () => clock,
      rateLimit: { burst: 1000, perSecond: 1000 },
      log: (l) => lines.push(l),
    });
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  it("accepts a correctly signed push and serves it", async () => {
    const r = await signedPost(server.url, { models: models(0, 3) }, { now: clock });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ upserted: 3, deleted: 0, licenses: 0, replayed: false, version: 1 });
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    const got = await getJson(`${server.url}/api/models/model-00001`);
    expect(got.body).toEqual(model(1));
  });

  it("refuses a push without signature headers (401, missing)", async () => {
    const r = await signedPost(server.url, { models: [model(9)] }, { sign: false });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: "unauthorized", reason: "missing" });
  });

  it("refuses a push signed with another key (401, mismatch)", async () => {
    const r = await signedPost(server.url, { models: [model(9)] }, { now: clock, key: new Secret("some-other-key-0123456789abcdef") });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ reason: "mismatch" });
  });

  it("refuses a signature 301 s old or 301 s in the future (401, expired)", async () => {
    expect((await signedPost(server.url, { models: [model(9)] }, { now: clock - 301_000 })).json).toMatchObject({ reason: "expired" });
    expect((await signedPost(server.url, { models: [model(9)] }, { now: clock + 301_000 })).json).toMatchObject({ reason: "expired" });
    expect((await signedPost(server.url, { models: [model(9)] }, { now: clock - 299_000 })).status).toBe(200);
  });

  it("refuses a body modified after signing (401, mismatch)", async () => {
    const original = JSON.stringify({ models: [model(20)] });
    const tampered = original.replace("huggingface.co", "evil.example");
    const r = await signedPost(server.url, tampered, { now: clock, signBody: original });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ reason: "mismatch" });
    expect((await getJson(`${server.url}/api/models/model-00020`)).status).toBe(404);
  });

  it("refuses malformed signature headers (401, malformed)", async () => {
    const r = await signedPost(server.url, { models: [model(9)] }, { now: clock, headers: { "x-cloudsync-signature": "v1=zz" } });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ reason: "malformed" });
  });

  it("answers a repeated idempotency key from the record and writes nothing; the same request after 301 s is 401", async () => {
    const body = JSON.stringify({ models: [model(30)] });
    const key = "idem-key-0123456789-abcdef";
    const first = await signedPost(server.url, body, { now: clock, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(first.json.replayed).toBe(false);
    const version = first.json.version;
    const again = await signedPost(server.url, body, { now: clock, idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...first.json, replayed: true });
    expect((await getJson(`${server.url}/healthz`)).body).toEqual({ status: "ok", version });
    // Same key, different body: a client bug, refused.
    const other = await signedPost(server.url, { models: [model(31)] }, { now: clock, idempotencyKey: key });
    expect(other.status).toBe(409);
    // Capture the exact request, replay it 301 s later: the timestamp is outside the window.
    const signedAt = clock;
    clock += 301_000;
    const replay = await signedPost(server.url, body, { now: signedAt, idempotencyKey: key });
    expect(replay.status).toBe(401);
    expect(replay.json).toMatchObject({ reason: "expired" });
    expect((await getJson(`${server.url}/healthz`)).body).toEqual({ status: "ok", version });
  });

  it.each([
    ["an extra field", { ...model(40), ownerEmail: "x@example.com" }, "models[0].ownerEmail"],
    ["a wrong type", { ...model(40), sizeBytes: "12" }, "models[0].sizeBytes"],
    ["an oversized string", { ...model(40), name: "n".repeat(201) }, "models[0].name"],
    ["a bad URL", { ...model(40), sourceUrl: "not a url" }, "models[0].sourceUrl"],
    ["a javascript: URL", { ...model(40), sourceUrl: "javascript:alert(1)" }, "models[0].sourceUrl"],
    ["a bad checksum", { ...model(40), sha256: "XYZ" }, "models[0].sha256"],
    ["a missing name", { ...model(40), name: undefined }, "models[0].name"],
  ])("refuses %s with 400 naming the field", async (_what, bad, field) => {
    const r = await signedPost(server.url, JSON.stringify({ models: [bad] }), { now: clock });
    expect(r.status).toBe(400);
    expect(r.json.field).toBe(field);
    expect(String(r.json.message)).toContain(field);
    expect((await getJson(`${server.url}/api/models/model-00040`)).status).toBe(404);
  });

  it("refuses an extra top-level field and an id both upserted and deleted (400 naming the field)", async () => {
    const extra = await signedPost(server.url, JSON.stringify({ models: [], private: true }), { now: clock });
    expect(extra.status).toBe(400);
    expect(extra.json.field).toBe("private");
    const both = await signedPost(server.url, { models: [model(41)], deleted: ["model-00041"] }, { now: clock });
    expect(both.status).toBe(400);
    expect(both.json.field).toBe("deleted");
  });

  it("refuses a body over the cap with 413 before reading it", async () => {
    const big = JSON.stringify({ models: [{ ...model(50), description: "x".repeat(2 * 1024 * 1024) }] });
    const r = await signedPost(server.url, big, { now: clock });
    expect(r.status).toBe(413);
  });

  it("refuses a non-JSON body with 400 and an unsupported media type with 415", async () => {
    expect((await signedPost(server.url, "{not json", { now: clock })).status).toBe(400);
    const r = await signedPost(server.url, "x", { now: clock, headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(415);
  });

  it("sends no CORS headers for the push, not even to a preflight", async () => {
    const pre = await fetch(`${server.url}/api/sync/metadata`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    const get = await fetch(`${server.url}/api/models`, { headers: { origin: "https://any.example" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("never logs the key", () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain("test-key-0123456789abcdef");
  });
});

describe("metadata push rate limit", () => {
  const tmp = tempDir("meta-rl");
  let server: MetadataServer;
  beforeAll(async () => {
    server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), apiKey: new Secret("test-key-0123456789abcdef-not-a-real-secret"), rateLimit: { burst: 5, perSecond: 0.01 } });
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  it("answers a burst beyond the bucket with 429 and Retry-After, whether or not the request is signed", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const r = await signedPost(server.url, { models: [model(i)] }, { sign: i % 2 === 0 });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get("retry-after");
    }
    expect(statuses).toEqual([200, 401, 200, 401, 200, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});

describe("metadata server without a key", () => {
  it("answers pushes with 503 and still serves reads", async () => {
    const tmp = tempDir("meta-nokey");
    const server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite") });
    try {
      expect((await signedPost(server.url, { models: [model(1)] })).status).toBe(503);
      expect((await getJson(`${server.url}/api/models`)).body).toEqual({ items: [], nextCursor: null });
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });

  it("refuses a key shorter than 16 characters", async () => {
    await expect(createMetadataServer({ dbPath: ":memory:", apiKey: new Secret("short") })).rejects.toThrow("CLOUD_SYNC_API_KEY: must be at least 16 characters");
  });
});

describe("metadata server slow clients", () => {
  it("answers 408 and closes a connection whose headers never finish (slow loris)", async () => {
    const tmp = tempDir("meta-slow");
    const server = await createMetadataServer({ dbPath: path.join(tmp.dir, "m.sqlite"), timeouts: { headersMs: 1000, requestMs: 2000 } });
    try {
      const { hostname, port } = new URL(server.url);
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const sock = connect(Number(port), hostname);
        let text = "";
        sock.on("data", (c: Buffer) => (text += c.toString("utf8")));
        sock.on("error", reject);
        sock.on("close", () => resolve(text));
        sock.write("GET /api/models HTTP/1.1\r\nHost: x\r\n");
        // …and never the blank line that ends the headers.
      });
      const waited = Date.now() - started;
      expect(answer.startsWith("HTTP/1.1 408 Request Timeout")).toBe(true);
      expect(waited).toBeGreaterThanOrEqual(900);
      // Generous upper bound: the suite shares two cores with other work.
      expect(waited).toBeLessThan(8000);
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});
