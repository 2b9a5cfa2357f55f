import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import Fastify, { type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import { ConfigError } from "../errors.js";
import type { Secret } from "../secret.js";
import { lookupDoc } from "./docs-files.js";
import { APP_CSS, APP_JS } from "./page/app-js.js";
import { INDEX_HTML } from "./page/index-html.js";
import { MAX_PAGE_SIZE, pushBodySchema, type PushBody } from "./public-schema.js";
import { createRateLimiter, type RateLimitOptions } from "./rate-limit.js";
import { verifySignature } from "./signature.js";
import { MODEL_SORTS, openMetadataStore, RequestRejected, type ModelSort } from "./store.js";

/** Options of `createMetadataServer`. */
export interface MetadataServerOptions {
  /** SQLite file (created if absent; WAL files live beside it). */
  readonly dbPath: string;
  /** Shared push secret (`CLOUD_SYNC_API_KEY`, ≥ 16 characters). Without it the push endpoint answers 503. */
  readonly apiKey?: Secret;
  /** Listen address. Default `127.0.0.1`. */
  readonly host?: string;
  /** Listen port; 0 (default) picks a free one (see `url`). */
  readonly port?: number;
  /** Directory served read-only under `/docs/`. Absent: `/docs/` is 404. */
  readonly docsDir?: string;
  /** Per-client limit on pushes. Default burst 10, 1 per second. */
  readonly rateLimit?: RateLimitOptions;
  /** Largest push body in bytes; larger → 413 before the body is read. Default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** Trust `X-Forwarded-For` from these proxies (fastify's `trustProxy`): `"loopback"` behind the local Caddy. Default off. */
  readonly trustProxy?: boolean | string;
  /** Clock in ms since the epoch (tests inject it to check the 300 s window). Default `Date.now`. */
  readonly now?: () => number;
  /** One line per push and per refused push (never secrets). Default: silent. */
  readonly log?: (line: string) => void;
  /** Slow-client limits in ms: headers complete within `headersMs` (default 10 s), the whole request within `requestMs` (default 30 s). */
  readonly timeouts?: { readonly headersMs?: number; readonly requestMs?: number };
  /** Fault injection for tests: runs inside the push transaction after half the models are written. */
  readonly faults?: { readonly midPush?: () => void };
}

/** A running metadata server. */
export interface MetadataServer {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** Stops accepting connections, ends open ones, closes the database. Idempotent. */
  close(): Promise<void>;
}

/** Where the push is accepted; also what the client signs. */
export const PUSH_PATH = "/api/sync/metadata";

const CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=60";
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** Bytes of whole GET answers kept for the current data version (a 50-model page is ≈ 22 KB). */
const RESPONSE_CACHE_BYTES = 1024 * 1024;
/** How long a connection that sent an oversized body stays open (unread) so its 413 is read. */
const LINGER_MS = 1000;

/** Query parameters of `GET /api/models`: the pattern or values each admits, or its longest free text. */
const LIST_QUERY: Readonly<Record<string, { readonly maxLength?: number; readonly values?: readonly string[]; readonly pattern?: RegExp }>> = {
  limit: { pattern: /^[0-9]{1,6}$/ },
  sort: { values: MODEL_SORTS },
  order: { values: ["asc", "desc"] },
  name: { maxLength: 200 },
  q: { maxLength: 200 },
  license: { maxLength: 100 },
  source: { maxLength: 253 },
  cursor: { maxLength: 700 },
};

/**
 * Checks the query of `GET /api/models` (unknown parameter, repeated parameter, length, pattern,
 * allowed values) and throws `RequestRejected(400, <parameter>)` on the first violation. Done by
 * hand rather than by a route schema so that serving reads never loads ajv (see
 * `lazySchemaCompilers`).
 */
function checkListQuery(query: Record<string, unknown>): Record<string, string | undefined> {
  for (const [key, value] of Object.entries(query)) {
    const rule = LIST_QUERY[key];
    let problem: string | undefined;
    if (rule === undefined) problem = "unknown parameter";
    else if (typeof value !== "string") problem = "must be given once, as a string";
    else if (rule.maxLength !== undefined && value.length > rule.maxLength) problem = `must NOT have more than ${rule.maxLength} characters`;
    else if (rule.pattern && !rule.pattern.test(value)) problem = `must match pattern "${rule.pattern.source}"`;
    else if (rule.values && !rule.values.includes(value)) problem = `must be one of ${rule.values.join(", ")}`;
    if (problem !== undefined) throw new RequestRejected(400, key, `querystring ${key}: ${problem}`);
  }
  return query as Record<string, string | undefined>;
}

type CompiledSchema = ((data: unknown) => unknown) & { errors?: unknown };
type RouteSchema = { readonly schema: unknown; readonly method: string; readonly url: string; readonly httpPart?: string };
type CompilerFactory = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => CompiledSchema;
type SchemaCompilers = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>;

/**
 * Fastify's own schema compilers (`@fastify/ajv-compiler`, `@fastify/fast-json-stringify-compiler`,
 * resolved from fastify's location), loaded and run only when a schema is first used instead of
 * at start-up: ajv and the compiled push schema cost ~3 MiB of resident memory that a server
 * answering only reads never needs. The push body is validated exactly as before (same ajv, same
 * options, same errors) from the first push on; a broken schema fails that push, not the boot,
 * which the push tests exercise.
 */
function lazySchemaCompilers(): SchemaCompilers {
  const fastifyRequire = createRequire(createRequire(import.meta.url).resolve("fastify"));
  const lazy = (module: string): CompilerFactory => (externalSchemas, options) => {
    let compiler: ((route: RouteSchema) => CompiledSchema) | undefined;
    return (route) => {
      let compiled: CompiledSchema | undefined;
      const run: CompiledSchema = (data) => {
        compiler ??= (fastifyRequire(module) as () => CompilerFactory)()(externalSchemas, options);
        compiled ??= compiler(route);
        const result = compiled(data);
        run.errors = compiled.errors;
        return result;
      };
      return run;
    };
  };
  return { buildValidator: lazy("@fastify/ajv-compiler"), buildSerializer: lazy("@fastify/fast-json-stringify-compiler") } as unknown as SchemaCompilers;
}

/**
 * Starts the public metadata API. Fastify rather than Express because it validates requests
 * against JSON Schema (ajv) before the handler runs, which is how the push admits only public
 * fields, and because its routing and serialization cost less per request, which the
 * 60 %-of-bare-node:http target needs. better-sqlite3 (WAL) holds the data: reads are synchronous
 * sub-millisecond queries and each push is one transaction.
 *
 * GETs are public, cached (ETag of database instance + data version, 304 on If-None-Match,
 * `Cache-Control: public, max-age=30`), and open to every origin. The push requires the v1
 * HMAC signature (see signature.ts and docs/METADATA_API.md), is rate-limited per client,
 * size-capped, schema-checked, idempotent by key, and sends no CORS headers.
 * Throws `ConfigError("CLOUD_SYNC_API_KEY")` for a key shorter than 16 characters, and the
 * listen error (EADDRINUSE…) as is.
 */
export async function createMetadataServer(opts: MetadataServerOptions): Promise<MetadataServer> {
  if (opts.apiKey && opts.apiKey.reveal().length < 16) throw new ConfigError("CLOUD_SYNC_API_KEY", "must be at least 16 characters; generate one with `openssl rand -base64 32`");
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const bodyLimit = opts.bodyLimitBytes ?? 1024 * 1024;
  const headersMs = opts.timeouts?.headersMs ?? 10_000;
  const requestMs = Math.max(headersMs, opts.timeouts?.requestMs ?? 30_000);
  const limiter = createRateLimiter(opts.rateLimit ?? { burst: 10, perSecond: 1 });
  const store = openMetadataStore(opts.dbPath);
  const rawBodies = new WeakMap<FastifyRequest, Buffer>();
  // Whole answers by raw URL for the current data version: the data changes only on a push. A
  // URL enters only after its route validated it and produced a 200, so a later request for the
  // same URL may be answered from here without routing or validation (see `serveCached`).
  let cacheVersion = -1;
  let cacheBytes = 0;
  const cache = new Map<string, Buffer>();
  let etagVersion = -1;
  let etag = "";
  const currentEtag = (version: number): string => {
    if (etagVersion !== version) {
      etag = `"${store.instance}-${version}"`;
      etagVersion = version;
    }
    return etag;
  };
  let closing = false;
  /**
   * Pre-routing fast path of public GETs: a cached answer is written directly, with the same
   * headers the routes and the onRequest hook set, so the hot `GET /api/models` costs about what
   * a bare node:http server does (Fastify's routing, query parsing, schema check and reply
   * pipeline cost ~40 % of throughput at this size). Anything else — a miss, a conditional
   * request, HEAD, a push, shutdown — goes to Fastify. Returns whether it answered.
   */
  const serveCached = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "GET" || closing || req.headers["if-none-match"] !== undefined) return false;
    const version = store.version();
    if (cacheVersion !== version) return false;
    const body = cache.get(req.url as string);
    if (body === undefined) return false;
    res.writeHead(200, [
      "content-type", "application/json; charset=utf-8",
      "content-length", String(body.length),
      "etag", currentEtag(version),
      "cache-control", CACHE_CONTROL,
      "x-content-type-options", "nosniff",
      "access-control-allow-origin", "*",
    ]);
    res.end(body);
    return true;
  };

  const app = Fastify({
    // No logger at all: no request logging on the hot path (pushes log through `opts.log`).
    logger: false,
    // Fastify's own server settings (timeouts below), with the cached-GET fast path in front.
    serverFactory: (handler, o) => {
      const server = createServer(o.http ?? {}, (req, res) => {
        if (!serveCached(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = o.keepAliveTimeout as number;
      server.requestTimeout = o.requestTimeout as number;
      server.setTimeout(o.connectionTimeout as number);
      return server;
    },
    bodyLimit,
    trustProxy: opts.trustProxy ?? false,
    // Slow-loris and idle-socket limits: headers in 10 s, whole request in 30 s, idle keep-alive
    // 5 s. Node enforces the first two on a timer (connectionsCheckingInterval, default 30 s),
    // so check every second for the limits to mean what they say.
    http: { headersTimeout: headersMs, requestTimeout: requestMs, connectionsCheckingInterval: Math.min(1000, headersMs) },
    connectionTimeout: 60_000,
    requestTimeout: requestMs,
    keepAliveTimeout: 5_000,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Reject rather than repair: fastify's defaults strip unknown properties and coerce types,
    // which would let a private field or a wrong type pass silently.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    schemaController: { compilersFactory: lazySchemaCompilers() },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body, done) => {
    const raw = body as Buffer;
    rawBodies.set(req, raw);
    try {
      done(null, JSON.parse(raw.toString("utf8")));
    } catch {
      done(new RequestRejected(400, "body", "body is not valid JSON"), undefined);
    }
  });

  // Set before routing (a synchronous hook: an async onSend hook costs measurably per request);
  // the headers survive into error answers. CORS only for reads.
  app.addHook("onRequest", (req, reply, done) => {
    reply.header("x-content-type-options", "nosniff");
    if (req.method === "GET" || req.method === "HEAD") reply.header("access-control-allow-origin", "*");
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: Array<{ instancePath: string; params: Record<string, unknown>; message?: string }>; validationContext?: string }, req, reply) => {
    if (err.validation && err.validation.length > 0) {
      const v = err.validation[0] as { instancePath: string; params: Record<string, unknown>; message?: string };
      const field = fieldName(v.instancePath, v.params);
      return reply.code(400).send({ error: "invalid_request", field, message: `${err.validationContext ?? "request"} ${field}: ${v.message ?? "is invalid"}` });
    }
    if (err instanceof RequestRejected) return reply.code(err.status).send({ error: "invalid_request", field: err.field, message: err.message });
    if (err.statusCode === 413) {
      // Answer on the raw socket and stop reading instead of closing at once: closing with
      // unread bytes makes the kernel send a reset that destroys the 413 before the client
      // reads it, and draining would cost buffers. TCP flow control stalls the sender while it
      // reads the answer; the socket is cut after LINGER_MS. Nothing of the body is kept.
      const body = JSON.stringify({ error: "body_too_large", message: `request body exceeds ${bodyLimit} bytes; push smaller batches` });
      const socket = req.raw.socket;
      reply.hijack();
      req.raw.pause();
      socket.end(`HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n${body}`);
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: "bad_request", message: err.message });
    log(`metadata: ${req.method} ${req.url}: internal error: ${err.message}`);
    return reply.code(500).send({ error: "internal", message: "internal error" });
  });

  const cached = (req: FastifyRequest, reply: FastifyReply, compute: () => string): FastifyReply => {
    const version = store.version();
    const tag = currentEtag(version);
    reply.headers({ etag: tag, "cache-control": CACHE_CONTROL });
    if (req.headers["if-none-match"]?.split(",").some((t) => t.trim() === tag || t.trim() === `W/${tag}`)) return reply.code(304).send();
    if (cacheVersion !== version) {
      cache.clear();
      cacheBytes = 0;
      cacheVersion = version;
    }
    let body = cache.get(req.url);
    if (body === undefined) {
      body = Buffer.from(compute(), "utf8");
      // Oldest first out until the new answer fits; one larger than the whole budget is not kept.
      for (const [url, old] of cache) {
        if (cacheBytes + body.length <= RESPONSE_CACHE_BYTES) break;
        cache.delete(url);
        cacheBytes -= old.length;
      }
      if (body.length <= RESPONSE_CACHE_BYTES) {
        cache.set(req.url, body);
        cacheBytes += body.length;
      }
    }
    return reply.type("application/json; charset=utf-8").send(body);
  };

  app.get("/api/models", (req, reply) => {
    const q = checkListQuery(req.query as Record<string, unknown>);
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (limit < 1 || limit > MAX_PAGE_SIZE) throw new RequestRejected(400, "limit", `limit must be 1-${MAX_PAGE_SIZE}`);
    return cached(req, reply, () =>
      store.listModels({ limit, sort: (q.sort ?? "name") as ModelSort, order: q.order === "desc" ? "desc" : "asc", name: q.name, q: q.q, license: q.license, source: q.source, cursor: q.cursor }).json,
    );
  });
  app.get("/api/models/:id", (req, reply) => {
    const id = (req.params as { id: string }).id;
    const doc = store.getModel(id);
    if (doc === undefined) return reply.code(404).header("cache-control", "public, max-age=30").send({ error: "not_found", message: `no model ${id}` });
    return cached(req, reply, () => doc);
  });
  app.get("/api/inventory", (req, reply) => cached(req, reply, () => JSON.stringify(store.inventory())));
  app.get("/api/licenses", (req, reply) => cached(req, reply, () => JSON.stringify(store.licenses())));
  app.get("/healthz", (_req, reply) => reply.header("cache-control", "no-store").send({ status: "ok", version: store.version() }));

  const page = (type: string, body: string) => (_req: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).header("cache-control", "public, max-age=300").header("content-security-policy", PAGE_CSP).header("referrer-policy", "no-referrer").send(body);
  app.get("/", page("text/html; charset=utf-8", INDEX_HTML));
  app.get("/assets/app.js", page("text/javascript; charset=utf-8", APP_JS));
  app.get("/assets/app.css", page("text/css; charset=utf-8", APP_CSS));

  app.get("/docs", (_req, reply) => reply.redirect("/docs/", 301));
  app.get("/docs/*", async (req, reply) => {
    if (!opts.docsDir) return reply.code(404).send({ error: "not_found", message: "no documentation directory configured" });
    const answer = await lookupDoc(opts.docsDir, (req.params as { "*": string })["*"]);
    if (answer.kind === "missing") return reply.code(404).send({ error: "not_found", message: "no such document" });
    reply.header("cache-control", "public, max-age=300").header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'");
    if (answer.kind === "index") return reply.type("text/html; charset=utf-8").send(answer.html);
    reply.header("etag", answer.etag);
    if (req.headers["if-none-match"] === answer.etag) {
      answer.stream.destroy();
      return reply.code(304).send();
    }
    return reply.type(answer.type).header("content-length", answer.size).send(answer.stream);
  });

  app.post(PUSH_PATH, {
    schema: { body: pushBodySchema },
    onRequest: async (req, reply) => {
      const wait = limiter.take(req.ip, now());
      if (wait > 0) {
        log(`metadata: push from ${req.ip}: rate limited (429)`);
        return reply.code(429).header("retry-after", String(wait)).send({ error: "rate_limited", message: `too many pushes; retry after ${wait} s` });
      }
      if (!opts.apiKey) return reply.code(503).send({ error: "push_disabled", message: "this server has no CLOUD_SYNC_API_KEY; pushes are disabled" });
    },
    preValidation: async (req, reply) => {
      const body = rawBodies.get(req) ?? Buffer.alloc(0);
      const failure = verifySignature(opts.apiKey as Secret, { method: req.method, path: req.url, body, headers: req.headers }, Math.floor(now() / 1000));
      if (failure) {
        log(`metadata: push from ${req.ip}: signature ${failure} (401)`);
        return reply.code(401).header("www-authenticate", 'Cloudsync-HMAC-SHA256 realm="metadata"').send({ error: "unauthorized", reason: failure, message: `signature ${failure}; see docs/METADATA_API.md` });
      }
    },
  }, (req, reply) => {
    const key = req.headers["idempotency-key"] as string;
    const result = store.applyPush(req.body as PushBody, rawBodies.get(req) ?? Buffer.alloc(0), key, now(), opts.faults?.midPush);
    log(`metadata: push ${key} from ${req.ip}: ${result.replayed ? "replayed, nothing written" : `upserted ${result.upserted}, deleted ${result.deleted}, licences ${result.licenses}`}, version ${result.version}`);
    return reply.header("cache-control", "no-store").send(result);
  });

  let address: string;
  try {
    address = await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 0 });
  } catch (err) {
    store.close();
    throw err;
  }
  let shutdown: Promise<void> | undefined;
  return {
    url: address,
    close() {
      closing = true;
      shutdown ??= app.close().then(() => store.close());
      return shutdown;
    },
  };
}

/** `/models/0` + {additionalProperty: "secret"} → `models[0].secret`: what the user must fix. */
function fieldName(instancePath: string, params: Record<string, unknown>): string {
  const parts = instancePath.split("/").filter(Boolean);
  const extra = params.additionalProperty ?? params.missingProperty;
  if (typeof extra === "string") parts.push(extra);
  let out = "";
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || "(root)";
}
