/** Settings of a per-client token bucket. */
import { ConfigError } from "../errors.js";
export interface RateLimitOptions {
  /** Requests a client may make at once (bucket size). */
  readonly burst: number;
  /** Tokens added per second (sustained rate). */
  readonly perSecond: number;
  /** Most clients tracked at once; the least recently seen are forgotten first. Default 10,000. */
  readonly maxClients?: number;
}

/** A per-client rate limiter. */
export interface RateLimiter {
  /**
   * Takes one token for `client` at `nowMs`. Returns 0 when allowed, otherwise the whole seconds
   * to wait before a token is available (for `Retry-After`). Never throws.
   */
  take(client: string, nowMs: number): number;
}

/**
 * In-memory token buckets keyed by client (IP address). Memory is bounded by `maxClients`
 * (a Map kept in insertion order doubles as the LRU), so a flood of spoofed sources cannot grow
 * it without limit. Per process: a restart forgets every bucket, which only ever errs towards
 * allowing.
 */
export function createRateLimiter(opts: RateLimitOptions): RateLimiter {
  if (!(opts.burst >= 1) || !(opts.perSecond > 0)) throw new ConfigError("rate limit", "burst must be ≥ 1 and perSecond > 0");
  const maxClients = opts.maxClients ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(client, nowMs) {
      const prev = buckets.get(client);
      let tokens = opts.burst;
      if (prev) {
        tokens = Math.min(opts.burst, prev.tokens + ((nowMs - prev.at) / 1000) * opts.perSecond);
        buckets.delete(client);
      } else if (buckets.size >= maxClients) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      if (tokens >= 1) {
        buckets.set(client, { tokens: tokens - 1, at: nowMs });
        return 0;
      }
      buckets.set(client, { tokens, at: nowMs });
      return Math.max(1, Math.ceil((1 - tokens) / opts.perSecond));
    },
  };
}

/**
 * Wraps `log` so that at most `burst` lines pass at once and `perSecond` after that; the rest
 * are dropped and counted, and the next line that passes says how many were suppressed. For
 * lines a client can cause (refusals, internal errors): a flood of bad requests must not become
 * a flood of log lines. `now` is ms since the epoch. Never throws (unless `log` does).
 */
export function throttleLog(log: (line: string) => void, opts: { readonly burst: number; readonly perSecond: number }, now: () => number): (line: string) => void {
  const limiter = createRateLimiter({ ...opts, maxClients: 1 });
  let suppressed = 0;
  return (line) => {
    if (limiter.take("log", now()) > 0) {
      suppressed++;
      return;
    }
    log(suppressed > 0 ? `${line} (${suppressed} similar line${suppressed === 1 ? "" : "s"} suppressed before this one)` : line);
    suppressed = 0;
  };
}
