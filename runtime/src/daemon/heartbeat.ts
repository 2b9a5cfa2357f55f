import { redactUri, type Secret } from "../secret.js";

/** Outcome of one heartbeat; `error` says why it failed. Never holds the URL's secret parts. */
export interface HeartbeatResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

/**
 * Pings a dead-man's-switch URL (healthchecks.io style) after a successful run: POST with a short
 * JSON body (`method` "POST", the default) or a bare GET. Resolves — never rejects — with the
 * outcome, since a monitoring hiccup must not fail a backup; the caller logs failures. A non-2xx
 * status is a failure. Times out after `timeoutMs` (default 10 s). Messages use the URL redacted
 * (only scheme, host and port), because the path of such URLs is the secret.
 */
export async function sendHeartbeat(url: Secret, opts: { method?: "GET" | "POST"; body?: unknown; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HeartbeatResult> {
  const method = opts.method ?? "POST";
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 10_000), ...(opts.signal ? [opts.signal] : [])];
  try {
    const res = await fetch(url.reveal(), {
      method,
      signal: AbortSignal.any(signals),
      ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: JSON.stringify(opts.body ?? {}) } : {}),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) return { ok: false, status: res.status, error: `heartbeat to ${heartbeatHost(url)} answered HTTP ${res.status}` };
    return { ok: true, status: res.status };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const why = (err as Error).name === "TimeoutError" ? "timed out" : (cause ?? (err as Error).message);
    return { ok: false, error: `heartbeat to ${heartbeatHost(url)} failed: ${why}` };
  }
}

/** The URL reduced to scheme, host and port: safe to log. */
export function heartbeatHost(url: Secret): string {
  try {
    const u = new URL(url.reveal());
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return redactUri("<invalid heartbeat url>");
  }
}
