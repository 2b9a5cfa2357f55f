// The Docker Engine API over its unix socket (node:http, no client library), and the tar pieces
// its archive endpoints speak: test machinery for the `local` stack's container spec
// (test/infra/docker-spec.test.ts), never product code.
import http from "node:http";

/** The Engine API version the requests are pinned to (Docker 20.10, Debian 12's docker.io, serves up to 1.41). */
export const DOCKER_API_VERSION = "1.41";

/** One Engine API answer. */
export interface DockerResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A client of one daemon. Every method throws `Error` naming the method, path, status and the daemon's message on a non-2xx answer. */
export interface DockerApi {
  /** `method path` with a JSON body (an object) or raw bytes (a tar archive). */
  request(method: string, path: string, body?: object | Buffer): Promise<DockerResponse>;
  /** `request`, parsing the answer as JSON (undefined for an empty body). */
  json<T>(method: string, path: string, body?: object | Buffer): Promise<T>;
}

/** A client of the daemon listening on the unix socket `socketPath`. */
export function dockerApi(socketPath: string): DockerApi {
  const request = (method: string, path: string, body?: object | Buffer): Promise<DockerResponse> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const contentType = body === undefined ? undefined : Buffer.isBuffer(body) ? "application/x-tar" : "application/json";
      const req = http.request(
        { socketPath, method, path: `/v${DOCKER_API_VERSION}${path}`, headers: { ...(contentType ? { "content-type": contentType } : {}), ...(payload ? { "content-length": payload.length } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const answer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
            if (answer.status >= 200 && answer.status < 300) return resolve(answer);
            let message = answer.body.toString("utf8").trim();
            try {
              message = (JSON.parse(message) as { message?: string }).message ?? message;
            } catch {
              // Not JSON: keep the text.
            }
            reject(new Error(`docker ${method} ${path}: ${answer.status} ${message}`));
          });
        },
      );
      req.on("error", (err) => reject(new Error(`docker ${method} ${path}: ${err.message}`)));
      req.end(payload);
    });
  return {
    request,
    json: async <T>(method: string, path: string, body?: object | Buffer) => {
      const r = await request(method, path, body);
      return (r.body.length === 0 ? undefined : JSON.parse(r.body.toString("utf8"))) as T;
    },
  };
}

/** One entry of a tar archive to write. */
export interface TarEntry {
  /** Path inside the archive, at most 100 bytes (the ustar name field; no prefix field is used). */
  readonly name: string;
  readonly type: "file" | "dir" | "symlink";
  /** Permission bits, e.g. 0o400. */
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
  /** File content (type file). */
  readonly content?: Buffer;
  /** Target (type symlink). */
  readonly linkTarget?: string;
}

const BLOCK = 512;

function octal(field: Buffer, offset: number, length: number, value: number): void {
  field.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "ascii");
}

/**
 * A POSIX ustar archive of `entries` (with the two zero blocks that end it), as the archive
 * endpoints and `docker import` take it. Throws `Error` for a name or link target that does not
 * fit its field.
 */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = e.type === "file" ? (e.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    if (Buffer.byteLength(e.name) > 100) throw new Error(`tar: name ${e.name} is longer than 100 bytes`);
    if (Buffer.byteLength(e.linkTarget ?? "") > 100) throw new Error(`tar: link target of ${e.name} is longer than 100 bytes`);
    const h = Buffer.alloc(BLOCK);
    h.write(e.name, 0, 100, "utf8");
    octal(h, 100, 8, e.mode);
    octal(h, 108, 8, e.uid ?? 0);
    octal(h, 116, 8, e.gid ?? 0);
    octal(h, 124, 12, content.length);
    octal(h, 136, 12, 0);
    h.write({ file: "0", dir: "5", symlink: "2" }[e.type], 156, 1, "ascii");
    if (e.linkTarget) h.write(e.linkTarget, 157, 100, "utf8");
    h.write("ustar\u000000", 257, 8, "ascii");
    // The checksum is computed with its own field read as eight spaces.
    h.fill(" ", 148, 156);
    const sum = h.reduce((a, b) => a + b, 0);
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
    parts.push(h, content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** The first entry of a tar archive as read back: what `GET /containers/{id}/archive` says about a file. */
export interface TarHeader {
  readonly name: string;
  /** Permission bits (the header's mode without the file type). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content: Buffer;
}

/** Reads the first entry of `archive`. Throws `Error` when it is not a tar header. */
export function firstTarEntry(archive: Buffer): TarHeader {
  if (archive.length < BLOCK || archive.toString("ascii", 257, 262) !== "ustar") throw new Error("tar: no ustar header at the start of the archive");
  const text = (offset: number, length: number) => archive.toString("utf8", offset, offset + length).replace(/\0.*$/s, "");
  const num = (offset: number, length: number) => parseInt(text(offset, length).trim() || "0", 8);
  const size = num(124, 12);
  return { name: text(0, 100), mode: num(100, 8) & 0o7777, uid: num(108, 8), gid: num(116, 8), content: archive.subarray(BLOCK, BLOCK + size) };
}

/** The result of `dockerExec`. */
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `cmd` in the running container `id` as `user` (`uid:gid`, numeric needs no passwd
 * entry), waits for it, and returns its exit code and output (the daemon's multiplexed stream,
 * split into stdout and stderr).
 */
export async function dockerExec(api: DockerApi, id: string, cmd: readonly string[], user: string): Promise<ExecResult> {
  const exec = await api.json<{ Id: string }>("POST", `/containers/${id}/exec`, { Cmd: cmd, User: user, AttachStdout: true, AttachStderr: true });
  const raw = (await api.request("POST", `/exec/${exec.Id}/start`, { Detach: false, Tty: false })).body;
  const out: Record<number, Buffer[]> = { 1: [], 2: [] };
  // Each frame: stream (1 stdout, 2 stderr), three zero bytes, a big-endian 32-bit length, the bytes.
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    (out[raw[at]!] ??= []).push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  // The daemon may record the exit a moment after the stream ends.
  let state = await api.json<{ ExitCode: number | null; Running: boolean }>("GET", `/exec/${exec.Id}/json`);
  for (const deadline = Date.now() + 10_000; (state.Running || state.ExitCode === null) && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    state = await api.json("GET", `/exec/${exec.Id}/json`);
  }
  if (state.Running || state.ExitCode === null) throw new Error(`docker exec ${cmd.join(" ")}: still running 10 s after its output ended`);
  return { exitCode: state.ExitCode, stdout: Buffer.concat(out[1]!).toString("utf8"), stderr: Buffer.concat(out[2]!).toString("utf8") };
}
