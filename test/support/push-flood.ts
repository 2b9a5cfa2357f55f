// Hostile pushes for memory measurements (test/cli/metadata-memory.test.ts, npm run bench:api):
// 1 MiB bodies sent whole over raw sockets whatever the server answers, unsigned or signed with the
// wrong key, each from its own loopback address so the per-client push limit does not answer first.
import { connect } from "node:net";
import { newIdempotencyKey, signRequest } from "../../runtime/src/metadata/signature.js";
import { Secret } from "../../runtime/src/secret.js";

/** One push of `body` with `headers` from `localAddress`; resolves with the status, or 0 when none came. */
export function rawPush(url: string, body: Buffer, headers: Record<string, string>, localAddress: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = connect({ port: Number(port), host: hostname, localAddress });
    let answer = "";
    sock.on("data", (c: Buffer) => (answer += c.toString("latin1")));
    // EPIPE/ECONNRESET once the server stopped reading are what a refusal looks like from here.
    sock.on("error", () => undefined);
    sock.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    sock.write(`POST /api/sync/metadata HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${extra}\r\n`);
    sock.end(body);
  });
}

/**
 * `pushes` pushes of 1 MiB, `concurrent` at a time, alternately unsigned and forged (well-formed
 * signature headers made with the wrong key), from addresses 127.0.x.y; resolves with each status.
 */
export async function floodPushes(url: string, pushes: number, concurrent: number): Promise<number[]> {
  const body = Buffer.alloc(1024 * 1024, 0x20);
  const wrongKey = new Secret("not-the-server-key-0123456789");
  const statuses: number[] = [];
  let next = 0;
  const pusher = async (): Promise<void> => {
    while (next < pushes) {
      const i = next++;
      const headers = i % 2 ? signRequest(wrongKey, "/api/sync/metadata", body, newIdempotencyKey()) : {};
      statuses.push(await rawPush(url, body, headers, `127.0.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`));
    }
  };
  await Promise.all(Array.from({ length: concurrent }, pusher));
  return statuses;
}
