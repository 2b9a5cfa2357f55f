// The one contract suite every Destination implementation runs (STYLE.md §14). It checks each
// method's documented contract with exact outcomes: bytes, sizes, hashes, error classes, and
// absent keys as well as present ones.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { ConfigError, NotFoundError } from "../../runtime/src/errors.js";
import { readAll } from "../support/streams.js";
import { listAll, pieces, sha256 } from "./helpers.js";

export interface ContractOptions {
  /** Size of the "several parts" body; S3 runs pass 2 × partSize + a bit. */
  readonly multipartBytes: number;
  /** Skip the whole suite, saying why. */
  readonly skip?: string;
  /**
   * The keys of the unfinished multipart uploads the service holds (S3's ListMultipartUploads),
   * where it keeps them: none may be left under the test's namespace by an aborted or failed put.
   */
  readonly unfinished?: () => Promise<string[]>;
}

async function expectAbsent(dest: Destination, ns: string, key: string): Promise<void> {
  await expect(dest.head(key)).rejects.toBeInstanceOf(NotFoundError);
  await expect(dest.get(key)).rejects.toBeInstanceOf(NotFoundError);
  expect(await listAll(dest, ns)).toEqual([]);
}

/**
 * Registers the contract tests for one implementation. `make` is called once; every test works
 * under its own key namespace, so the destination may be shared with nothing else.
 */
export function runDestinationContract(name: string, make: () => Promise<Destination> | Destination, options: ContractOptions): void {
  const title = options.skip ? `${name} destination contract (skipped: ${options.skip})` : `${name} destination contract`;
  describe.skipIf(!!options.skip)(title, () => {
    let dest: Destination;
    let n = 0;
    // A fresh namespace per test: "t<random>-<n>/".
    const run = randomBytes(3).toString("hex");
    const space = () => `t${run}-${++n}/`;

    beforeAll(async () => {
      dest = await make();
    });

    it("has a url without credentials", () => {
      expect(dest.url).not.toMatch(/secret|password|:[^/]*@/i);
    });

    for (const [label, size] of [
      ["0 B", 0],
      ["1 B", 1],
      ["100 KiB", 100 * 1024],
      ["several parts", options.multipartBytes],
    ] as const) {
      it(`put then get returns the same ${label} byte for byte, with the right size and sha256`, async () => {
        const ns = space();
        const key = `${ns}obj.bin`;
        const data = randomBytes(size);
        const result = await dest.put(key, Readable.from(pieces(data, 64 * 1024)), { sizeHint: size });
        expect(result).toEqual({ key, size, sha256: sha256(data) });
        const back = await readAll(await dest.get(key));
        expect(back.length).toBe(size);
        expect(back.equals(data)).toBe(true);
        const info = await dest.head(key);
        expect(info.key).toBe(key);
        expect(info.size).toBe(size);
        expect(info.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(info.lastModified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      });
    }

    it("accepts a plain async iterable body and odd chunk sizes", async () => {
      const key = `${space()}iter.bin`;
      const data = randomBytes(300_001);
      const result = await dest.put(key, pieces(data, 7_777));
      expect(result.sha256).toBe(sha256(data));
      expect((await readAll(await dest.get(key))).equals(data)).toBe(true);
    });

    it("overwrites an existing key with the new bytes", async () => {
      const ns = space();
      const key = `${ns}same`;
      await dest.put(key, Readable.from([Buffer.from("first version")]));
      await dest.put(key, Readable.from([Buffer.from("second")]));
      expect((await readAll(await dest.get(key))).toString()).toBe("second");
      expect((await dest.head(key)).size).toBe(6);
      expect((await listAll(dest, ns)).map((i) => i.key)).toEqual([key]);
    });

    it("get and head of a missing key throw NotFoundError naming the key", async () => {
      const key = `${space()}missing`;
      await expect(dest.get(key)).rejects.toThrow(NotFoundError);
      await expect(dest.get(key)).rejects.toThrow(key);
      await expect(dest.head(key)).rejects.toThrow(NotFoundError);
      await expect(dest.head(key)).rejects.toThrow(key);
    });

    it("delete removes the object and is idempotent", async () => {
      const ns = space();
      const key = `${ns}gone`;
      await dest.put(key, Readable.from([Buffer.from("x")]));
      await dest.delete(key);
      await expectAbsent(dest, ns, key);
      await expect(dest.delete(key)).resolves.toBeUndefined();
      await expect(dest.delete(`${ns}never/existed`)).resolves.toBeUndefined();
    });

    it("lists recursively in byte order, with plain string-prefix semantics", async () => {
      const ns = space();
      const names = ["b/2", "a/1", "a/10", "a/2", "ab", "a/sub/x", "é", "z", "ⓩ"];
      for (const [i, name] of names.entries()) await dest.put(`${ns}${name}`, Readable.from([Buffer.alloc(i + 1, 1)]));
      const all = await listAll(dest, ns);
      // UTF-8 byte order, as S3 lists: 'z' (0x7a) < 'é' (0xc3 0xa9) < 'ⓩ' (0xe2 …).
      expect(all.map((i) => i.key)).toEqual(["a/1", "a/10", "a/2", "a/sub/x", "ab", "b/2", "z", "é", "ⓩ"].map((k) => ns + k));
      expect(all.map((i) => i.size)).toEqual([2, 3, 4, 6, 5, 1, 8, 7, 9]);
      expect((await listAll(dest, `${ns}a/`)).map((i) => i.key)).toEqual(["a/1", "a/10", "a/2", "a/sub/x"].map((k) => ns + k));
      expect((await listAll(dest, `${ns}a`)).map((i) => i.key)).toEqual(["a/1", "a/10", "a/2", "a/sub/x", "ab"].map((k) => ns + k));
      expect((await listAll(dest, `${ns}a/1`)).map((i) => i.key)).toEqual(["a/1", "a/10"].map((k) => ns + k));
      expect(await listAll(dest, `${ns}nothing`)).toEqual([]);
      expect(await listAll(dest, `${ns}a/sub/x/`)).toEqual([]);
    });

    it("rejects invalid keys with ConfigError on the key field, before touching the body", async () => {
      const bad = ["", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a/./b", "nul\0byte", "x".repeat(1025)];
      for (const key of bad) {
        let pulled = false;
        const body = (async function* () {
          pulled = true;
          yield Buffer.from("never");
        })();
        const err = await dest.put(key, body).catch((e: unknown) => e);
        expect(err, JSON.stringify(key)).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).field).toBe("key");
        expect(pulled).toBe(false);
        await expect(dest.get(key)).rejects.toBeInstanceOf(ConfigError);
        await expect(dest.head(key)).rejects.toBeInstanceOf(ConfigError);
        await expect(dest.delete(key)).rejects.toBeInstanceOf(ConfigError);
      }
      await expect(listAll(dest, "/abs")).rejects.toBeInstanceOf(ConfigError);
      await expect(listAll(dest, "a/../b")).rejects.toBeInstanceOf(ConfigError);
    });

    it("an aborted put rejects with the abort reason and leaves nothing", async () => {
      const ns = space();
      const key = `${ns}aborted`;
      const controller = new AbortController();
      const data = randomBytes(options.multipartBytes);
      let sent = 0;
      const body = (async function* () {
        for await (const piece of pieces(data, 256 * 1024, { hang: true })) {
          sent += piece.length;
          if (sent >= data.length) setTimeout(() => controller.abort(new Error("stop here")), 200);
          yield piece;
        }
      })();
      await expect(dest.put(key, body, { signal: controller.signal })).rejects.toThrow("stop here");
      await expectAbsent(dest, ns, key);
      if (options.unfinished) expect((await options.unfinished()).filter((k) => k.includes(ns))).toEqual([]);
    });

    it("a put with an already-aborted signal rejects and leaves nothing", async () => {
      const ns = space();
      const key = `${ns}pre-aborted`;
      await expect(dest.put(key, Readable.from([Buffer.from("x")]), { signal: AbortSignal.abort(new Error("too late")) })).rejects.toThrow("too late");
      await expectAbsent(dest, ns, key);
    });

    it("a body that fails midway rejects with that error, leaves nothing new and keeps the old object", async () => {
      const ns = space();
      const fresh = `${ns}fresh`;
      const old = `${ns}old`;
      const data = randomBytes(options.multipartBytes);
      await expect(dest.put(fresh, Readable.from(pieces(data, 512 * 1024, { error: new Error("source broke") })))).rejects.toThrow("source broke");
      await expect(dest.head(fresh)).rejects.toBeInstanceOf(NotFoundError);
      await dest.put(old, Readable.from([Buffer.from("previous backup")]));
      await expect(dest.put(old, pieces(data, 512 * 1024, { error: new Error("source broke again") }))).rejects.toThrow("source broke again");
      expect((await readAll(await dest.get(old))).toString()).toBe("previous backup");
      expect((await listAll(dest, ns)).map((i) => i.key)).toEqual([old]);
      if (options.unfinished) expect((await options.unfinished()).filter((k) => k.includes(ns))).toEqual([]);
    });
  });
}
