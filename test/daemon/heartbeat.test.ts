import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { heartbeatHost, sendHeartbeat } from "../../runtime/src/daemon/heartbeat.js";
import { Secret } from "../../runtime/src/secret.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A local HTTP server answering `status`, recording each request. */
async function listen(status: number): Promise<{ base: string; seen: Array<{ method?: string; url?: string; body: string }> }> {
  const seen: Array<{ method?: string; url?: string; body: string }> = [];
  server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body });
      res.writeHead(status).end("OK");
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe("sendHeartbeat", () => {
  it("POSTs JSON by default and GETs when asked", async () => {
    const { base, seen } = await listen(200);
    expect(await sendHeartbeat(new Secret(`${base}/ping/secret-uuid`), { body: { backup: "x" } })).toEqual({ ok: true, status: 200 });
    expect(await sendHeartbeat(new Secret(`${base}/ping/secret-uuid`), { method: "GET" })).toEqual({ ok: true, status: 200 });
    expect(seen).toEqual([
      { method: "POST", url: "/ping/secret-uuid", body: '{"backup":"x"}' },
      { method: "GET", url: "/ping/secret-uuid", body: "" },
    ]);
  });

  it("reports a non-2xx answer without the URL's secret path", async () => {
    const { base } = await listen(503);
    const r = await sendHeartbeat(new Secret(`${base}/ping/secret-uuid`));
    expect(r).toEqual({ ok: false, status: 503, error: `heartbeat to ${base}/… answered HTTP 503` });
    expect(JSON.stringify(r)).not.toContain("secret-uuid");
  });

  it("resolves (never rejects) when nothing listens", async () => {
    const { base } = await listen(200);
    await new Promise((r) => server!.close(r));
    server = undefined;
    const r = await sendHeartbeat(new Secret(`${base}/ping/secret-uuid`), { timeoutMs: 2000 });
    expect(r).toEqual({ ok: false, error: `heartbeat to ${base}/… failed: ECONNREFUSED` });
  });

  it("redacts to scheme, host and port", () => {
    expect(heartbeatHost(new Secret("https://hc-ping.com/0f3c-secret"))).toBe("https://hc-ping.com/…");
  });
});
