// A real TCP proxy on 127.0.0.1 in front of an HTTP server (the S3 gateway) that injects faults
// per request: a 503 answer, a connection reset part-way through the request body, or a stall
// with no bytes for a while. It parses only request heads and Content-Length bodies (what the
// AWS SDK sends); responses are piped back untouched.
import net from "node:net";

/** What to do with one request. */
export type Fault =
  | { readonly kind: "503" }
  /** Forward the head and `afterBytes` of the body (default half), then reset both connections. */
  | { readonly kind: "reset"; readonly afterBytes?: number }
  /** Forward nothing for `ms`, then carry on normally (the client has usually given up by then). */
  | { readonly kind: "stall"; readonly ms: number }
  /** Forward the request with the body byte at `offset` inverted (default the middle one). */
  | { readonly kind: "flip"; readonly offset?: number };

/** One request as the proxy saw it. */
export interface SeenRequest {
  /** 0-based order of arrival over the proxy's lifetime. */
  readonly index: number;
  readonly method: string;
  /** Request target, e.g. "/bucket/key?partNumber=2&uploadId=…". */
  readonly url: string;
  readonly contentLength: number;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The fault injected, if any. */
  readonly fault?: Fault;
}

/** Decides a request's fault; return undefined to pass it through. */
export type FaultPlan = (request: Omit<SeenRequest, "fault">) => Fault | undefined;

export interface FaultProxy {
  /** "http://127.0.0.1:<port>": use it as the S3 endpoint. */
  readonly endpoint: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly SeenRequest[];
  /** Replaces the plan for requests that arrive from now on. */
  setPlan(plan: FaultPlan): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to `target` ("http://host:port"). */
export async function startFaultProxy(target: string, plan: FaultPlan = () => undefined): Promise<FaultProxy> {
  const { hostname, port } = new URL(target);
  const requests: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  let current = plan;

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    const upstream = net.connect({ host: hostname, port: Number(port) });
    sockets.add(upstream);
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.pipe(client);
    handleConnection(client, upstream, (head) => {
      const seen = { index: requests.length, ...head };
      const fault = current(seen);
      requests.push({ ...seen, fault });
      return fault;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    setPlan: (p) => void (current = p),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Decide = (head: Omit<SeenRequest, "index" | "fault">) => Fault | undefined;

// Reads requests off `client` one after the other; each is forwarded, answered with a 503,
// reset or stalled according to `decide`.
function handleConnection(client: net.Socket, upstream: net.Socket, decide: Decide): void {
  let buffered: Buffer = Buffer.alloc(0);
  let state: { kind: "head" } | { kind: "body"; remaining: number; sent: number; resetAt: number; flipAt: number } = { kind: "head" };
  let paused = false;

  const forward = (data: Buffer) => {
    if (!upstream.write(data)) {
      client.pause();
      upstream.once("drain", () => client.resume());
    }
  };

  const pump = () => {
    while (buffered.length > 0 && !paused) {
      if (state.kind === "head") {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const headBytes = buffered.subarray(0, end + 4);
        buffered = buffered.subarray(end + 4);
        const text = headBytes.toString("latin1");
        const [method = "", url = ""] = text.split("\r\n", 1)[0]?.split(" ") ?? [];
        const headers: Record<string, string> = {};
        for (const line of text.split("\r\n").slice(1)) {
          const colon = line.indexOf(":");
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const contentLength = Number(headers["content-length"] ?? 0);
        const fault = decide({ method, url, contentLength, headers });
        if (fault?.kind === "503") {
          const body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>injected by fault proxy</Message></Error>";
          // Connection: close, so the client never sends the unread body on this socket again.
          client.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
          upstream.destroy();
          paused = true;
          return;
        }
        if (fault?.kind === "stall") {
          paused = true;
          client.pause();
          setTimeout(() => {
            paused = false;
            if (client.destroyed) return;
            forward(headBytes);
            state = { kind: "body", remaining: contentLength, sent: 0, resetAt: Infinity, flipAt: -1 };
            client.resume();
            pump();
          }, fault.ms).unref();
          return;
        }
        forward(headBytes);
        const resetAt = fault?.kind === "reset" ? (fault.afterBytes ?? Math.floor(contentLength / 2)) : Infinity;
        const flipAt = fault?.kind === "flip" ? (fault.offset ?? Math.floor(contentLength / 2)) : -1;
        state = { kind: "body", remaining: contentLength, sent: 0, resetAt, flipAt };
        if (resetAt === 0) return reset();
      } else {
        const take = Math.min(state.remaining, buffered.length, state.resetAt - state.sent);
        let piece = buffered.subarray(0, take);
        const at = state.flipAt - state.sent;
        if (at >= 0 && at < take) {
          piece = Buffer.from(piece);
          piece[at] = (piece[at] ?? 0) ^ 0xff;
        }
        forward(piece);
        buffered = buffered.subarray(take);
        state.remaining -= take;
        state.sent += take;
        if (state.sent >= state.resetAt) return reset();
        if (state.remaining === 0) state = { kind: "head" };
      }
    }
  };

  const reset = () => {
    paused = true;
    client.resetAndDestroy();
    upstream.resetAndDestroy();
  };

  client.on("data", (data: Buffer) => {
    if (paused) return;
    buffered = buffered.length ? Buffer.concat([buffered, data]) : data;
    pump();
  });
  client.on("end", () => upstream.end());
}
