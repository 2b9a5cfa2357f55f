/**
 * writeDumpDirectory's `signal` contract (issue 9, item 7): an abort while writing, or just before
 * the rename, rejects with the signal's reason and leaves neither the target nor a staging folder.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeDumpDirectory } from "../../runtime/src/archive/dump-dir.js";
import { readArchive } from "../../runtime/src/archive/reader.js";
import type { ArchiveEvent } from "../../runtime/src/archive/types.js";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "cloudsync-dumpdir-abort-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The demo archive's events; `onEvent` sees each one (with its index) before it is passed on. */
async function* demoEvents(onEvent: (ev: ArchiveEvent, i: number) => void): AsyncGenerator<ArchiveEvent> {
  let i = 0;
  for await (const ev of readArchive(generateDemoArchive({ targetBytes: 512 * 1024, seed: 5 }))) {
    onEvent(ev, i++);
    yield ev;
  }
}

describe("writeDumpDirectory with an AbortSignal", () => {
  it("aborted after some files were written → rejects with the reason, nothing published, no staging folder", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted by SIGINT");
    let documents = 0;
    const events = demoEvents((ev) => {
      if (ev.kind === "documents" && ++documents === 3) controller.abort(reason);
    });
    await expect(writeDumpDirectory(events, path.join(work, "dump"), { signal: controller.signal })).rejects.toBe(reason);
    expect(documents).toBe(3);
    expect(await readdir(work)).toEqual([]);
  });

  it("aborted after the last event, before the rename → still nothing published", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted by SIGTERM");
    async function* thenAbort(): AsyncGenerator<ArchiveEvent> {
      yield* demoEvents(() => undefined);
      controller.abort(reason);
    }
    await expect(writeDumpDirectory(thenAbort(), path.join(work, "dump"), { signal: controller.signal })).rejects.toBe(reason);
    expect(await readdir(work)).toEqual([]);
  });

  it("an already aborted signal → rejects before creating anything", async () => {
    const reason = new Error("interrupted by SIGINT");
    await expect(writeDumpDirectory(demoEvents(() => undefined), path.join(work, "a", "dump"), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(await readdir(work)).toEqual([]);
  });
});
