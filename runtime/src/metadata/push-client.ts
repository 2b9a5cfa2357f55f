import { AuthError, ConfigError, RemoteError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";
import type { PushBody, PushResult } from "./public-schema.js";
import { newIdempotencyKey, signRequest } from "./signature.js";

/** Options of `pushMetadata`. */
export interface PushOptions {
  /** Idempotency key; the same one is reused by every retry. Default: a fresh random key. */
  readonly idempotencyKey?: string;
  /** Attempts in total for retryable failures (network, 429, 5xx). Default 5. */
  readonly attempts?: number;
  /** First back-off delay in ms, doubled per attempt with ±50 % jitter, capped at 30 s. Default 500. */
  readonly backoffMs?: number;
  /** Per-attempt timeout in ms. Default 30 s. */
  readonly timeoutMs?: number;
  /** Clock for the signature timestamp (tests sign "in the past"). Default `Date.now`. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/**
 * The push URL for a configured endpoint: `https://host` → `https://host/api/sync/metadata`;
 * an endpoint already ending in that path is used as is. Throws `ConfigError("CLOUD_SYNC_ENDPOINT")`
 * for anything but an http(s) URL.
 */
export function pushUrl(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError("CLOUD_SYNC_ENDPOINT", `not a URL: ${redactUri(endpoint)}; expected e.g. https://jeffreysanford.us`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError("CLOUD_SYNC_ENDPOINT", `must be an http(s) URL (got ${url.protocol})`);
  if (!url.pathname.endsWith("/api/sync/metadata")) url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/sync/metadata`;
  return url;
}

/**
 * Sends one signed batch to the metadata server and returns its answer. Retries network errors,
 * timeouts, 429 (honouring Retry-After) and 5xx with exponential back-off, always with the same
 * idempotency key and body, re-signed with a fresh timestamp, so a retry after a lost answer
 * writes nothing twice. Throws `AuthError` on 401 (wrong key or clock skew > 300 s),
 * `RemoteError("metadata push", …)` on any other refusal (400 naming the field, 409, 413) or
 * when attempts run out. Never includes the key in a message.
 */
export async function pushMetadata(endpoint: string, apiKey: Secret, batch: PushBody, opts: PushOptions = {}): Promise<PushResult> {
  const url = pushUrl(endpoint);
  const body = Buffer.from(JSON.stringify(batch), "utf8");
  const key = opts.idempotencyKey ?? newIdempotencyKey();
  const attempts = opts.attempts ?? 5;
  const now = opts.now ?? Date.now;
  const where = `metadata push to ${url.origin}`;
  let lastProblem = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    opts.signal?.throwIfAborted();
    let retryAfterMs: number | undefined;
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs ?? 30_000)]) : AbortSignal.timeout(opts.timeoutMs ?? 30_000);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...signRequest(apiKey, url.pathname + url.search, body, key, now()) },
        body,
        signal,
      });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as PushResult;
      const message = describe(text) ?? res.statusText;
      if (res.status === 401) throw new AuthError(`${where}: refused (401, ${message}); check that CLOUD_SYNC_API_KEY matches the server's and that both clocks are right`);
      if (res.status !== 429 && res.status < 500) throw new RemoteError(where, `refused (${res.status}): ${message}`);
      lastProblem = `${res.status} ${message}`;
      const ra = Number(res.headers.get("retry-after"));
      if (res.status === 429 && Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
    } catch (err) {
      if (err instanceof AuthError || err instanceof RemoteError) throw err;
      if (opts.signal?.aborted) throw err;
      lastProblem = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    }
    if (attempt < attempts) {
      const base = Math.min(30_000, (opts.backoffMs ?? 500) * 2 ** (attempt - 1));
      const delay = retryAfterMs ?? base * (0.5 + Math.random());
      opts.log?.(`${where}: attempt ${attempt} failed (${lastProblem}); retrying in ${Math.round(delay)} ms`);
      await sleep(delay, opts.signal);
    }
  }
  throw new RemoteError(where, `failed after ${attempts} attempts: ${lastProblem}`);
}

function describe(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as { message?: string };
    return typeof j.message === "string" ? j.message : undefined;
  } catch {
    return text.slice(0, 200) || undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
