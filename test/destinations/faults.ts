// Fault cases the destination tests share: the cases every multipart upload passes through the
// fault proxy, and a put killed with SIGKILL in a child process that runs the compiled module.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { expect, it } from "vitest";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { NotFoundError } from "../../runtime/src/errors.js";
import type { FaultProxy, SeenRequest } from "../support/fault-proxy.js";
import { readAll } from "../support/streams.js";
import { waitFor } from "../support/wait.js";
import { listAll, pieces, sha256, waitForLine } from "./helpers.js";

/** What the shared proxy cases need of a destination's test file; called once its beforeAll ran. */
export interface ProxiedDestination {
  /** What the service calls a piece of a multipart upload: "part", "block". */
  readonly piece: string;
  readonly pieceSize: number;
  readonly proxy: () => FaultProxy;
  /** The destination through the proxy, with a queue of `queueSize` pieces when given. */
  readonly viaProxy: (extra?: { queueSize?: number }) => Destination;
  /** Whether a request the proxy saw uploads one piece. */
  readonly isPiece: (r: Pick<SeenRequest, "method" | "url">) => boolean;
}

/** The proxy cases every multipart destination shares; declare inside the file's proxy `describe`. */
export function runSharedProxyCases(d: ProxiedDestination): void {
  it(`keeps at most queueSize ${d.piece}s in flight and reads at most one ${d.piece} ahead`, async () => {
    const proxy = d.proxy();
    proxy.setPlan((r) => (d.isPiece(r) ? { kind: "stall", ms: 1_000 } : undefined));
    const start = proxy.requests.length;
    const sent = () => proxy.requests.slice(start).filter(d.isPiece);
    const data = randomBytes(4 * d.pieceSize + 1);
    let pulled = 0;
    const body = (async function* () {
      for await (const piece of pieces(data, 256 * 1024)) {
        pulled += piece.length;
        yield piece;
      }
    })();
    const upload = d.viaProxy({ queueSize: 2 }).put("queue/bounded", body);
    while (sent().length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Both stalled pieces hold their slots: no third is sent, and the reader waits.
    expect(sent()).toHaveLength(2);
    expect(pulled).toBeLessThanOrEqual(3 * d.pieceSize);
    expect((await upload).sha256).toBe(sha256(data));
    expect(sent()).toHaveLength(5);
  });

  it("get, head, list and delete retry 503s too", async () => {
    const proxy = d.proxy();
    proxy.setPlan(() => undefined);
    const dest = d.viaProxy();
    await dest.put("reads/x", Readable.from([Buffer.from("readable")]));
    const failed = new Set<string>();
    proxy.setPlan((r) => (!failed.has(r.method + r.url) && failed.add(r.method + r.url) ? { kind: "503" } : undefined));
    expect((await readAll(await dest.get("reads/x"))).toString()).toBe("readable");
    expect((await dest.head("reads/x")).size).toBe(8);
    expect((await listAll(dest, "reads/")).map((i) => i.key)).toEqual(["reads/x"]);
    await dest.delete("reads/x");
    proxy.setPlan(() => undefined);
    await expect(dest.head("reads/x")).rejects.toBeInstanceOf(NotFoundError);
  });
}

/** The compiled destinations module the kill tests' child runs (CLOUDSYNC_DIST points at another build output). */
export const DIST_DESTINATIONS = path.join(process.env.CLOUDSYNC_DIST ?? path.resolve(import.meta.dirname, "../../dist"), "runtime", "src", "destinations", "index.js");
/** Why the kill tests cannot run, or undefined. */
export const DIST_SKIP = existsSync(DIST_DESTINATIONS) ? undefined : "no dist/; run npm run build";

/**
 * Starts a child that puts an endless body to `key` at `spec` (put-child.mjs, with the S3 options
 * and remote settings as JSON), waits until it has sent 12 MiB and `landed` says the service
 * holds part of it, kills it with SIGKILL and resolves once it has exited.
 */
export async function killDuringPut(spec: string, key: string, settings: { s3?: object; remotes?: object; landed?: () => Promise<boolean> } = {}): Promise<void> {
  const args = [path.join(import.meta.dirname, "put-child.mjs"), DIST_DESTINATIONS, spec, key, JSON.stringify(settings.s3 ?? {}), JSON.stringify(settings.remotes ?? {})];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  await waitForLine(child.stdout, "streaming");
  // 12 MiB read is no proof that a piece has landed: CI once killed an upload with both in flight.
  if (settings.landed) await waitFor(`the service to hold part of ${key}`, settings.landed, 30_000);
  child.kill("SIGKILL");
  await exited;
}
