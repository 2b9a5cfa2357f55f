import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import Fastify, { type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import { ConfigError } from "../errors.js";
import type { Secret } from "../secret.js";
import { lookupDoc } from "./docs-files.js";
import { APP_CSS, APP_JS } from "./page/app-js.js";
import { renderIndexHtml } from "./page/index-html.js";
import { MAX_PAGE_SIZE, MODEL_ID_MAX_LENGTH, PUBLIC_FORMATS, pushBodySchema, type PublicModel, type PushBody } from "./public-schema.js";
import { checkQuery, MODEL_LIST_QUERY, NO_QUERY, PAGE_QUERY, type QueryRules } from "./query-rules.js";
import { createRateLimiter, throttleLog, type RateLimitOptions } from "./rate-limit.js";
import { checkSignatureHeaders, verifyBody, type SignatureFailure, type SignatureHeaders } from "./signature.js";
import { openMetadataStore, RequestRejected, type ModelQuery, type ModelSort } from "./store.js";

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
  /**
   * Per-client limit on every other request (GET, HEAD, OPTIONS), cached answers included;
   * beyond it 429 with `Retry-After`. Default `DEFAULT_READ_RATE_LIMIT`; `false` turns it off
   * (benchmarks).
   */
  readonly readRateLimit?: RateLimitOptions | false;
  /** Largest push body in bytes; larger → 413 before the body is read. Default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /**
   * Push bodies read at once before their signature is verified, over all clients. Each is read
   * into one of this many reusable buffers of `bodyLimitBytes` (made on first use, then kept), so
   * bodies that fail the MAC allocate nothing; a push beyond them is answered 503
   * (`Retry-After: 1`) without reading its body. Default 2.
   */
  readonly unverifiedBodies?: number;
  /** Trust `X-Forwarded-For` from these proxies (`"loopback"` behind the local Caddy; proxy-addr syntax, as fastify's `trustProxy`). Default off. */
  readonly trustProxy?: boolean | string;
  /** Clock in ms since the epoch (tests inject it to check the 300 s window). Default `Date.now`. */
  readonly now?: () => number;
  /** One line per push, per refused push and per internal error (never secrets; lines a client can cause are throttled). Default: silent. */
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

/** Default per-client read limit: bursts of 100 requests, 50 per second sustained. */
export const DEFAULT_READ_RATE_LIMIT: RateLimitOptions = { burst: 100, perSecond: 50 };

const CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=60";
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** Bytes of whole GET answers kept for the current data version (a 50-model page is ≈ 22 KB). */
const RESPONSE_CACHE_BYTES = 1024 * 1024;
/** How long a connection refused before its body was read stays open (unread) so the answer is read. */
const LINGER_MS = 1000;
/** Log lines a client can cause (refusals, internal errors): bursts of 20, then 1 per second. */
const LOG_THROTTLE = { burst: 20, perSecond: 1 };
/** Rows of the inventory page. */
const PAGE_ROWS = 50;

const JSON_TYPE = "application/json; charset=utf-8";
const HTML_TYPE = "text/html; charset=utf-8";
/** Headers of every cacheable GET answer besides its type and ETag (the page adds its CSP). */
const READ_HEADERS = ["cache-control", CACHE_CONTROL, "x-content-type-options", "nosniff", "access-control-allow-origin", "*"];
const PAGE_HEADERS = [...READ_HEADERS, "content-security-policy", PAGE_CSP, "referrer-policy", "no-referrer"];

/** A whole cached answer: its bytes and its headers (flat name/value list) without the ETag. */
interface CachedAnswer {
  readonly body: Buffer;
  readonly headers: readonly string[];
}

/**
 * A request refused with a fixed answer. Thrown from hooks and the body parser; the error
 * handler sends it (see `refuse`).
 */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(String(body.message));
  }
}

/** Fastify's own `require`, for modules it depends on (its compilers, proxy-addr) at the versions it uses. */
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve("fastify"));

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

type TrustFn = (address: string, hop: number) => boolean;

/**
 * How the client address that per-client limits and log lines use is found: the peer address,
 * or with `trustProxy` the nearest address in `X-Forwarded-For` not added by a trusted proxy.
 * It is fastify's own proxy-addr with fastify's reading of the option, and it is computed before
 * fastify sees the request, so cached answers are limited too.
 */
function clientAddress(trustProxy: boolean | string | undefined): (req: IncomingMessage) => string {
  if (!trustProxy) return (req) => req.socket.remoteAddress ?? "";
  const proxyAddr = fastifyRequire("@fastify/proxy-addr") as ((req: IncomingMessage, trust: TrustFn) => string) & { compile(values: string[]): TrustFn };
  const trust: TrustFn = trustProxy === true ? () => true : proxyAddr.compile(trustProxy.split(",").map((v) => v.trim()));
  return (req) => proxyAddr(req, trust);
}

/**
 * Starts the public metadata API. Fastify rather than Express because it validates requests
 * against JSON Schema (ajv) before the handler runs, which is how the push admits only public
 * fields, and because its routing and serialization cost less per request, which the
 * 60 %-of-bare-node:http target needs. better-sqlite3 (WAL) holds the data: reads are synchronous
 * sub-millisecond queries and each push is one transaction.
 *
 * GETs are public, rate-limited per client, cached (ETag of database instance + data version,
 * 304 on If-None-Match, `Cache-Control: public, max-age=30`; whole answers and the inventory and
 * licence aggregates are kept until the next push), open to every origin, and refuse unknown
 * query parameters on every route. The push is rate-limited per client, size-capped, refused
 * before its body is read when its signature headers cannot be valid, HMAC-checked over the raw
 * bytes before any parsing (see signature.ts and docs/METADATA_API.md), then schema-checked,
 * idempotent by key, and sends no CORS headers.
 * Throws `ConfigError("CLOUD_SYNC_API_KEY")` for a key shorter than 16 characters, and the
 * listen error (EADDRINUSE…) as is.
 */
export async function createMetadataServer(opts: MetadataServerOptions): Promise<MetadataServer> {
  if (opts.apiKey && opts.apiKey.reveal().length < 16) throw new ConfigError("CLOUD_SYNC_API_KEY", "must be at least 16 characters; generate one with `openssl rand -base64 32`");
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const clientLog = throttleLog(log, LOG_THROTTLE, now);
  const bodyLimit = opts.bodyLimitBytes ?? 1024 * 1024;
  const slotCount = opts.unverifiedBodies ?? 2;
  const headersMs = opts.timeouts?.headersMs ?? 10_000;
  const requestMs = Math.max(headersMs, opts.timeouts?.requestMs ?? 30_000);
  const pushLimiter = createRateLimiter(opts.rateLimit ?? { burst: 10, perSecond: 1 });
  const readLimit = opts.readRateLimit ?? DEFAULT_READ_RATE_LIMIT;
  const readLimiter = readLimit === false ? undefined : createRateLimiter(readLimit);
  const clientOf = clientAddress(opts.trustProxy);
  const store = openMetadataStore(opts.dbPath);
  // Push requests past their header checks: the parsed signature headers, the buffer their body
  // is read into, and its release.
  const pushes = new WeakMap<IncomingMessage, { readonly signature: SignatureHeaders; readonly slot: Buffer; readonly release: () => void }>();
  const freeSlots: Buffer[] = [];
  let slotsMade = 0;
  const takeSlot = (): Buffer | undefined => {
    const free = freeSlots.pop();
    if (free !== undefined || slotsMade >= slotCount) return free;
    slotsMade++;
    return Buffer.allocUnsafe(bodyLimit);
  };
  const rawBodies = new WeakMap<FastifyRequest, Buffer>();
  // Whole answers by raw URL, and the aggregates, for the current data version: the data changes
  // only on a push. A URL enters only after its route validated it and produced a 200, so a later
  // request for the same URL may be answered from here without routing or validation (see
  // `front`). The aggregates are kept apart so that many distinct model queries cannot evict them.
  let cacheVersion = -1;
  let cacheBytes = 0;
  const cache = new Map<string, CachedAnswer>();
  const aggregates = new Map<string, unknown>();
  const atVersion = (version: number): void => {
    if (cacheVersion === version) return;
    cache.clear();
    aggregates.clear();
    cacheBytes = 0;
    cacheVersion = version;
  };
  const aggregate = <T>(name: string, compute: () => T): T => {
    atVersion(store.version());
    let value = aggregates.get(name) as T | undefined;
    if (value === undefined) {
      value = compute();
      aggregates.set(name, value);
    }
    return value;
  };
  const inventory = () => aggregate("inventory", () => store.inventory());
  const licenses = () => aggregate("licenses", () => store.licenses());
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
  const rateLimited = (res: ServerResponse, wait: number): void => {
    const body = JSON.stringify({ error: "rate_limited", message: `too many requests; retry after ${wait} s` });
    res.writeHead(429, ["content-type", JSON_TYPE, "content-length", String(Buffer.byteLength(body)), "retry-after", String(wait), "cache-control", "no-store", "x-content-type-options", "nosniff", "access-control-allow-origin", "*"]);
    res.end(body);
  };
  /**
   * In front of Fastify: the per-client read limit, then the cached-GET fast path, which writes
   * a cached answer directly with the headers the route gave it, so the hot `GET /api/models`
   * costs about what a bare node:http server does (Fastify's routing, query parsing and reply
   * pipeline cost ~40 % of throughput at this size). Anything else — a miss, a conditional
   * request, HEAD, a push, shutdown — goes to Fastify. Returns whether it answered.
   */
  const front = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method === "POST") return false;
    if (readLimiter) {
      const wait = readLimiter.take(clientOf(req), now());
      if (wait > 0) return (rateLimited(res, wait), true);
    }
    if (req.method !== "GET" || closing || req.headers["if-none-match"] !== undefined) return false;
    const version = store.version();
    if (cacheVersion !== version) return false;
    const hit = cache.get(req.url as string);
    if (hit === undefined) return false;
    res.writeHead(200, hit.headers as string[]);
    res.end(hit.body);
    return true;
  };

  const app = Fastify({
    // No logger at all: no request logging on the hot path (pushes log through `opts.log`).
    logger: false,
    // Fastify's own server settings (timeouts below), with `front` before it.
    serverFactory: (handler, o) => {
      const server = createServer(o.http ?? {}, (req, res) => {
        if (!front(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = o.keepAliveTimeout as number;
      server.requestTimeout = o.requestTimeout as number;
      server.setTimeout(o.connectionTimeout as number);
      return server;
    },
    // Model ids are up to MODEL_ID_MAX_LENGTH characters, each of which a client may send
    // percent-encoded; the router's default of 100 answered 414 to valid ids (issue 9, item 23).
    routerOptions: { maxParamLength: 3 * MODEL_ID_MAX_LENGTH },
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
    // which would let a private field or a wrong type pass silently. The schema's formats mean
    // what the server can store and the page can parse (PUBLIC_FORMATS), not ajv-formats' reading.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
      onCreate: (ajv) => {
        for (const [name, check] of Object.entries(PUBLIC_FORMATS)) ajv.addFormat(name, check);
      },
    },
    schemaController: { compilersFactory: lazySchemaCompilers() },
  });

  /**
   * Sends a refusal. A request whose body has not been wholly received is answered on the raw
   * socket, which then stops reading instead of closing at once: closing with unread bytes makes
   * the kernel send a reset that destroys the answer before the client reads it, and reading the
   * rest would cost buffers (node's socket chunks are collected lazily). TCP flow control stalls
   * the sender while it reads the answer; the socket is cut after LINGER_MS. Nothing of the body
   * is kept.
   */
  const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, body: Record<string, unknown>, headers: Readonly<Record<string, string>> = {}): FastifyReply => {
    if (req.raw.complete) return reply.code(status).headers(headers).send(body);
    const text = JSON.stringify(body);
    const socket = req.raw.socket;
    reply.hijack();
    req.raw.pause();
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n${extra}\r\n${text}`);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
    return reply;
  };
  const unauthorized = (client: string, failure: SignatureFailure): Refusal => {
    clientLog(`metadata: push from ${client}: signature ${failure} (401)`);
    return new Refusal(401, { error: "unauthorized", reason: failure, message: `signature ${failure}; see docs/METADATA_API.md` }, { "www-authenticate": 'Cloudsync-HMAC-SHA256 realm="metadata"' });
  };
  /** Throws the 401 when the push's MAC does not cover exactly `body`. */
  const checkBody = (req: FastifyRequest, body: Buffer): void => {
    const push = pushes.get(req.raw) as { signature: SignatureHeaders };
    const failure = verifyBody(opts.apiKey as Secret, { method: req.method, path: req.url, body }, push.signature);
    if (failure) throw unauthorized(clientOf(req.raw), failure);
  };

  // The push body is read into a reused buffer and its MAC checked over those raw bytes before
  // anything parses it or a byte is copied (issue 9, item 20): a forged `[{},{},…]` costs no
  // allocation, never the objects JSON.parse would make of it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", (req, payload, done) => {
    const push = pushes.get(req.raw);
    // Only the push reads a body.
    if (push === undefined) return done(null, undefined);
    const size = Number(req.headers["content-length"] ?? 0);
    let received = 0;
    payload.on("data", (chunk: Buffer) => {
      if (received + chunk.length <= size) chunk.copy(push.slot, received);
      received += chunk.length;
    });
    payload.once("error", (err: Error) => {
      push.release();
      done(err, undefined);
    });
    payload.once("end", () => {
      let parsed: unknown;
      let error: Error | null = null;
      try {
        if (received !== size) throw new RequestRejected(400, "body", "body length differs from Content-Length");
        checkBody(req, push.slot.subarray(0, size));
        // Authenticated: now the body may cost its own copy, and its parse.
        const raw = Buffer.from(push.slot.subarray(0, size));
        push.release();
        rawBodies.set(req, raw);
        parsed = JSON.parse(raw.toString("utf8"));
      } catch (err) {
        error = err instanceof Refusal || err instanceof RequestRejected ? err : new RequestRejected(400, "body", "body is not valid JSON");
      }
      push.release();
      done(error, parsed);
    });
  });

  // Set before routing (a synchronous hook: an async onSend hook costs measurably per request);
  // the headers survive into error answers. CORS only for reads. Every route's query is checked
  // against its allow-list (route config `query`, none by default) before anything else runs.
  app.addHook("onRequest", (req, reply, done) => {
    reply.header("x-content-type-options", "nosniff");
    if (req.method === "GET" || req.method === "HEAD") reply.header("access-control-allow-origin", "*");
    if (!req.is404) {
      const problem = checkQuery(req.query as Record<string, unknown>, (req.routeOptions.config as { query?: QueryRules }).query ?? NO_QUERY);
      if (problem) return done(new RequestRejected(400, problem.field, problem.message));
    }
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: Array<{ instancePath: string; params: Record<string, unknown>; message?: string }>; validationContext?: string }, req, reply) => {
    if (err instanceof Refusal) return refuse(req, reply, err.status, err.body, err.headers);
    if (err.validation && err.validation.length > 0) {
      const v = err.validation[0] as { instancePath: string; params: Record<string, unknown>; message?: string };
      const field = fieldName(v.instancePath, v.params);
      return refuse(req, reply, 400, { error: "invalid_request", field, message: `${err.validationContext ?? "request"} ${field}: ${v.message ?? "is invalid"}` });
    }
    if (err instanceof RequestRejected) return refuse(req, reply, err.status, { error: "invalid_request", field: err.field, message: err.message });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return refuse(req, reply, err.statusCode, { error: "bad_request", message: err.message });
    clientLog(`metadata: ${req.method} ${req.url}: internal error: ${err.message}`);
    return refuse(req, reply, 500, { error: "internal", message: "internal error" });
  });

  const cached = (req: FastifyRequest, reply: FastifyReply, type: string, compute: () => string): FastifyReply => {
    const version = store.version();
    const tag = currentEtag(version);
    const headers = type === HTML_TYPE ? PAGE_HEADERS : READ_HEADERS;
    for (let i = 0; i < headers.length; i += 2) reply.header(headers[i] as string, headers[i + 1]);
    reply.header("etag", tag);
    if (req.headers["if-none-match"]?.split(",").some((t) => t.trim() === tag || t.trim() === `W/${tag}`)) return reply.code(304).send();
    atVersion(version);
    let hit = cache.get(req.url);
    if (hit === undefined) {
      const body = Buffer.from(compute(), "utf8");
      hit = { body, headers: ["content-type", type, ...headers, "etag", tag, "content-length", String(body.length)] };
      // Oldest first out until the new answer fits; one larger than the whole budget is not kept.
      for (const [url, old] of cache) {
        if (cacheBytes + body.length <= RESPONSE_CACHE_BYTES) break;
        cache.delete(url);
        cacheBytes -= old.body.length;
      }
      if (body.length <= RESPONSE_CACHE_BYTES) {
        cache.set(req.url, hit);
        cacheBytes += body.length;
      }
    }
    return reply.type(type).send(hit.body);
  };
  /** The store query for a checked query string (`PAGE_QUERY` or `MODEL_LIST_QUERY`). */
  const modelQuery = (q: Readonly<Record<string, string | undefined>>, limit: number): ModelQuery => ({
    limit,
    sort: (q.sort ?? "name") as ModelSort,
    order: q.order === "desc" ? "desc" : "asc",
    name: q.name,
    q: q.q,
    license: q.license,
    source: q.source,
    cursor: q.cursor,
  });

  app.get("/api/models", { config: { query: MODEL_LIST_QUERY } }, (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (limit < 1 || limit > MAX_PAGE_SIZE) throw new RequestRejected(400, "limit", `limit must be 1-${MAX_PAGE_SIZE}`);
    return cached(req, reply, JSON_TYPE, () => store.listModels(modelQuery(q, limit)).json);
  });
  app.get("/api/models/:id", (req, reply) => {
    const id = (req.params as { id: string }).id;
    const doc = store.getModel(id);
    if (doc === undefined) return reply.code(404).header("cache-control", "public, max-age=30").send({ error: "not_found", message: `no model ${id}` });
    return cached(req, reply, JSON_TYPE, () => doc);
  });
  app.get("/api/inventory", (req, reply) => cached(req, reply, JSON_TYPE, () => JSON.stringify(inventory())));
  app.get("/api/licenses", (req, reply) => cached(req, reply, JSON_TYPE, () => JSON.stringify(licenses())));
  app.get("/healthz", (_req, reply) => reply.header("cache-control", "no-store").send({ status: "ok", version: store.version() }));

  app.get("/", { config: { query: PAGE_QUERY } }, (req, reply) => {
    // The form sends its empty fields (`license=`): on the page an empty value means no filter.
    const q = Object.fromEntries(Object.entries(req.query as Record<string, string>).filter(([, v]) => v !== ""));
    return cached(req, reply, HTML_TYPE, () => {
      const query = modelQuery(q, PAGE_ROWS);
      const page = JSON.parse(store.listModels(query).json) as { items: PublicModel[]; nextCursor: string | null };
      return renderIndexHtml({ query: { q: query.q, license: query.license, sort: query.sort, order: query.order }, models: page.items, nextCursor: page.nextCursor, licenses: licenses(), inventory: inventory() });
    });
  });
  const asset = (type: string, body: string) => (_req: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).header("cache-control", "public, max-age=300").header("content-security-policy", PAGE_CSP).header("referrer-policy", "no-referrer").send(body);
  app.get("/assets/app.js", asset("text/javascript; charset=utf-8", APP_JS));
  app.get("/assets/app.css", asset("text/css; charset=utf-8", APP_CSS));

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
    // Everything that can be decided from the headers is, before a byte of the body is read.
    onRequest: async (req) => {
      const client = clientOf(req.raw);
      const wait = pushLimiter.take(client, now());
      if (wait > 0) {
        clientLog(`metadata: push from ${client}: rate limited (429)`);
        throw new Refusal(429, { error: "rate_limited", message: `too many pushes; retry after ${wait} s` }, { "retry-after": String(wait) });
      }
      if (!opts.apiKey) throw new Refusal(503, { error: "push_disabled", message: "this server has no CLOUD_SYNC_API_KEY; pushes are disabled" });
      const length = req.headers["content-length"];
      if (length === undefined && req.headers["transfer-encoding"] !== undefined) throw new Refusal(411, { error: "length_required", message: "send the push with a Content-Length header" });
      const size = Number(length ?? 0);
      if (size > bodyLimit) throw new Refusal(413, { error: "body_too_large", message: `request body exceeds ${bodyLimit} bytes; push smaller batches` });
      const signature = checkSignatureHeaders(req.headers, Math.floor(now() / 1000));
      if (typeof signature === "string") throw unauthorized(client, signature);
      // Well-formed headers with a fresh timestamp cost nothing to forge: bound the bodies read
      // before a MAC is checked, over all clients (50 forged 1 MiB pushes from 50 addresses
      // would otherwise hold 50 MiB).
      const slot = takeSlot();
      if (slot === undefined) {
        clientLog(`metadata: push from ${client}: ${slotCount} unverified pushes already being read (503)`);
        throw new Refusal(503, { error: "busy", message: "too many pushes are being received; retry in a second" }, { "retry-after": "1" });
      }
      let held = true;
      const release = (): void => {
        if (held) freeSlots.push(slot);
        held = false;
      };
      req.raw.once("close", release);
      pushes.set(req.raw, { signature, slot, release });
    },
    // A push without a body (and so without a Content-Type) skips the parser; its MAC covers the empty body.
    preValidation: async (req) => {
      if (!rawBodies.has(req)) checkBody(req, Buffer.alloc(0));
    },
  }, (req, reply) => {
    const key = req.headers["idempotency-key"] as string;
    const result = store.applyPush(req.body as PushBody, rawBodies.get(req) ?? Buffer.alloc(0), key, now(), opts.faults?.midPush);
    log(`metadata: push ${key} from ${clientOf(req.raw)}: ${result.replayed ? "replayed, nothing written" : `upserted ${result.upserted}, deleted ${result.deleted}, licences ${result.licenses}`}, version ${result.version}`);
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
