// How an interruption maps to exit 130, whatever form it reaches the CLI in.
import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { EXIT, exitCodeFor, InterruptedError, isInterruption } from "../../runtime/src/errors.js";

describe("interruptions", () => {
  it("an InterruptedError is exit 130 with the plain message", () => {
    const err = new InterruptedError();
    expect(err.message).toBe("interrupted; nothing was written");
    expect(err.code).toBe("interrupted");
    expect(exitCodeFor(err)).toBe(EXIT.interrupted);
  });

  it("the AbortError Node throws for a signal aborted with an InterruptedError is one too; other aborts are not", async () => {
    const controller = new AbortController();
    const pending = delay(60_000, undefined, { signal: controller.signal });
    controller.abort(new InterruptedError());
    const err = await pending.catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    expect(isInterruption(err)).toBe(true);
    expect(exitCodeFor(err)).toBe(130);

    const timeout = await delay(60_000, undefined, { signal: AbortSignal.abort(new Error("timed out")) }).catch((e: unknown) => e);
    expect(isInterruption(timeout)).toBe(false);
    expect(exitCodeFor(timeout)).toBe(EXIT.failure);
  });
});
