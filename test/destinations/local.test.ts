import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { LocalIOError, NotFoundError } from "../../runtime/src/errors.js";
import { runDestinationContract } from "./contract.js";
import { DIST_SKIP, killDuringPut } from "./faults.js";
import { listAll, pieces } from "./helpers.js";

const run = promisify(execFile);
const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-local-"));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of roots) await rm(dir, { recursive: true, force: true });
});

runDestinationContract("local", async () => createLocalDestination(await freshRoot()), { multipartBytes: 3 * 1024 * 1024 + 17 });

describe("local destination specifics", () => {
  it("stores key a/b/c as <root>/a/b/c and leaves no temporary file", async () => {
    const root = await freshRoot();
    const dest = createLocalDestination(root);
    expect(dest.url).toBe(root);
    await dest.put("a/b/c.bin", Readable.from([Buffer.from("hello")]));
    expect(await readFile(path.join(root, "a", "b", "c.bin"), "utf8")).toBe("hello");
    expect(await readdir(path.join(root, "a", "b"))).toEqual(["c.bin"]);
  });

  it("list skips a temporary file left by a crash, and head of its name is NotFound", async () => {
    const root = await freshRoot();
    const dest = createLocalDestination(root);
    await mkdir(path.join(root, "x"), { recursive: true });
    await writeFile(path.join(root, "x", ".y.bin.tmp-0a1b2c3d4e5f"), "partial");
    await dest.put("x/z", Readable.from([Buffer.from("z")]));
    expect((await listAll(dest, "")).map((i) => i.key)).toEqual(["x/z"]);
    await expect(dest.head("x/y.bin")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("a directory is not an object: head and get are NotFound, delete is a no-op on a missing file", async () => {
    const root = await freshRoot();
    const dest = createLocalDestination(root);
    await dest.put("dir/file", Readable.from([Buffer.from("f")]));
    await expect(dest.head("dir")).rejects.toBeInstanceOf(NotFoundError);
    await expect(dest.get("dir")).rejects.toBeInstanceOf(NotFoundError);
    await expect(dest.delete("dir/file/below")).resolves.toBeUndefined();
  });

  it("a missing root lists nothing and is created on the first put", async () => {
    const root = path.join(await freshRoot(), "not", "yet");
    const dest = createLocalDestination(root);
    expect(await listAll(dest, "")).toEqual([]);
    await dest.put("k", Readable.from([Buffer.from("v")]));
    expect(existsSync(path.join(root, "k"))).toBe(true);
  });
});

// A real full disk: a 1 MiB tmpfs. Needs root (mount); skips saying why otherwise.
const tmpfs = await (async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-full-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    return { dir, reason: undefined };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { dir, reason: `cannot mount a tmpfs here (${String((err as { stderr?: string }).stderr ?? err).trim()})` };
  }
})();
afterAll(async () => {
  if (tmpfs.reason) return;
  await run("umount", [tmpfs.dir]).catch(() => undefined);
  await rm(tmpfs.dir, { recursive: true, force: true });
});

describe.skipIf(!!tmpfs.reason)(`local destination on a full disk${tmpfs.reason ? ` (skipped: ${tmpfs.reason})` : ""}`, () => {
  it("fails with LocalIOError saying no space, leaves no partial file, and keeps the old object", async () => {
    const dest = createLocalDestination(tmpfs.dir);
    await dest.put("backups/old", Readable.from([Buffer.from("previous")]));
    const err = await dest.put("backups/big", Readable.from(pieces(Buffer.alloc(2 * 1024 * 1024, 7), 64 * 1024))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalIOError);
    expect((err as Error).message).toBe(
      `write ${path.join(tmpfs.dir, "backups", "big")}: no space left on the device; free space or choose another destination (ENOSPC)`,
    );
    expect(await readdir(path.join(tmpfs.dir, "backups"))).toEqual(["old"]);
    expect((await listAll(dest, "")).map((i) => i.key)).toEqual(["backups/old"]);
    expect(await readFile(path.join(tmpfs.dir, "backups", "old"), "utf8")).toBe("previous");
  });
});

describe("local destination where a directory stands at the object's path", () => {
  it("fails with LocalIOError naming the path and what to do, and leaves the directory as it was", async () => {
    const root = await freshRoot();
    await mkdir(path.join(root, "backups", "taken", "inner"), { recursive: true });
    const dest = createLocalDestination(root);
    const err = await dest.put("backups/taken", Readable.from([Buffer.from("data")])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalIOError);
    expect((err as Error).message).toContain(path.join(root, "backups", "taken"));
    expect((err as Error).message).toContain("is a directory where a file was expected");
    expect(await readdir(path.join(root, "backups"))).toEqual(["taken"]);
    expect(await readdir(path.join(root, "backups", "taken"))).toEqual(["inner"]);
  });
});

// kill -9 mid-put, for real: a child process runs the compiled module from dist/.
describe.skipIf(!!DIST_SKIP)(`kill -9 during a local put${DIST_SKIP ? ` (skipped: ${DIST_SKIP})` : ""}`, () => {
  it("leaves nothing under the final key and the listing empty", async () => {
    const root = await freshRoot();
    await killDuringPut(`file://${root}`, "backups/killed");
    const dest = createLocalDestination(root);
    await expect(dest.head("backups/killed")).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(dest, "")).toEqual([]);
    // What a crash can leave is a temporary file, which list ignores.
    expect((await readdir(path.join(root, "backups"))).every((f) => /^\.killed\.tmp-[0-9a-f]+$/.test(f))).toBe(true);
  });
});
