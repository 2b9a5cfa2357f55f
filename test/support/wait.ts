// Polling for a condition in tests that drive real processes and services.

/**
 * Polls `check` every 50 ms until it returns a truthy value or `ms` passes; then throws "timed
 * out waiting for `what`", followed by what `context` returns (a child's log, say), so a timeout
 * in CI shows what the process was doing.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 20_000, context?: () => string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} after ${ms} ms${context ? `\n${context()}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
