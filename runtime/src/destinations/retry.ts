/** How often and how patiently a failed remote operation is tried again. */
export interface RetryPolicy {
  /** Total tries including the first; 1 means no retry. */
  readonly maxAttempts: number;
  /** Ceiling of the first back-off; doubles each retry. */
  readonly baseDelayMs: number;
  /** Upper bound of any single back-off. */
  readonly maxDelayMs: number;
}

/** Defaults: 6 tries over roughly 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s (at most), enough to ride out a brief outage or throttling. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 20_000 };

/**
 * Back-off before try number `attempt + 1` (attempt ≥ 1): "full jitter", a uniform random delay
 * in [0, min(maxDelay, base × 2^(attempt−1))). Jitter keeps parallel part uploads that failed
 * together from retrying in lock-step against a struggling server.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** True when the error is transient (5xx, throttling, timeout, reset). Other errors are thrown at once. */
  readonly isRetryable: (err: unknown) => boolean;
  /** Stops waiting and retrying; the signal's reason is thrown. */
  readonly signal?: AbortSignal;
  /** Called before each back-off, for logging. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Thrown by `withRetry` when every try failed with a retryable error; `cause` is the last error. */
export class RetriesExhausted extends Error {
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`gave up after ${attempts} attempts`, { cause });
    this.name = "RetriesExhausted";
  }
}

/**
 * Runs `fn` until it succeeds, a non-retryable error occurs (thrown unchanged), the signal aborts
 * (its reason is thrown), or `policy.maxAttempts` retryable failures happened (RetriesExhausted
 * carrying the last error). `fn` gets the 1-based attempt number and must be safe to repeat:
 * callers keep request bodies in memory until the call succeeds.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, isRetryable, signal, onRetry } = options;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!isRetryable(err)) throw err;
      if (attempt >= policy.maxAttempts) throw new RetriesExhausted(attempt, err);
      const delay = backoffDelay(attempt, policy);
      onRetry?.(err, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
