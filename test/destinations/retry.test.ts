import { describe, expect, it } from "vitest";
import { backoffDelay, RetriesExhausted, withRetry, type RetryPolicy } from "../../runtime/src/destinations/retry.js";
import { isRetryableS3Error } from "../../runtime/src/destinations/s3-errors.js";

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const transient = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });

describe("backoffDelay", () => {
  it("is full jitter below base × 2^(attempt−1), capped at maxDelay", () => {
    const p: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, p, () => 0)).toBe(0);
    expect(backoffDelay(2, p, () => 0.5)).toBe(100);
  });
});

describe("withRetry", () => {
  it("retries retryable errors until success, passing the attempt number", async () => {
    const seen: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw transient;
        return "ok";
      },
      { policy, isRetryable: () => true },
    );
    expect(result).toBe("ok");
    expect(seen).toEqual([1, 2, 3]);
  });

  it("throws a non-retryable error at once, unchanged", async () => {
    let calls = 0;
    const fatal = new Error("forbidden");
    await expect(
      withRetry(
        async () => {
          calls++;
          throw fatal;
        },
        { policy, isRetryable: () => false },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it("gives up after maxAttempts with RetriesExhausted carrying the last error", async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw transient;
      },
      { policy, isRetryable: () => true },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhausted);
    expect((err as RetriesExhausted).attempts).toBe(4);
    expect((err as Error).cause).toBe(transient);
    expect(calls).toBe(4);
  });

  it("stops waiting when the signal aborts and throws its reason", async () => {
    const controller = new AbortController();
    const slow: RetryPolicy = { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 };
    const pending = withRetry(
      async () => {
        setTimeout(() => controller.abort(new Error("cancelled")), 10);
        throw transient;
      },
      { policy: slow, isRetryable: () => true, signal: controller.signal },
    );
    await expect(pending).rejects.toThrow("cancelled");
  });
});

describe("isRetryableS3Error", () => {
  const sdk = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  it("retries 5xx, 429, throttling, timeouts, resets and damaged payloads", () => {
    for (const e of [sdk("InternalError", 500), sdk("Unknown", 503), sdk("SlowDown", 503), sdk("TooManyRequests", 429), sdk("TimeoutError"), sdk("RequestTimeout", 400), sdk("BadDigest", 400), sdk("XAmzContentSHA256Mismatch", 400), transient]) {
      expect(isRetryableS3Error(e), e.name).toBe(true);
    }
  });
  it("does not retry client errors", () => {
    for (const e of [sdk("AccessDenied", 403), sdk("NoSuchKey", 404), sdk("InvalidBucketName", 400), sdk("EntityTooSmall", 400), new TypeError("bad")]) {
      expect(isRetryableS3Error(e), e.name).toBe(false);
    }
  });
});
