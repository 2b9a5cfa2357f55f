import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { withLogging, withProgress } from "../../runtime/src/destinations/wrappers.js";
import { NotFoundError } from "../../runtime/src/errors.js";
import { readAll } from "../support/streams.js";
import { pieces } from "./helpers.js";
import { runDestinationContract } from "./contract.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "cloudsync-wrap-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// A wrapper must not change the contract of what it wraps.
runDestinationContract("local wrapped in logging and progress", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-wrap-contract-"));
  return withLogging(withProgress(createLocalDestination(dir), () => undefined), () => undefined);
}, { multipartBytes: 1024 * 1024 + 1 });

describe("destination wrappers", () => {
  it("withProgress reports the running byte total of each put", async () => {
    const seen: Array<[string, number]> = [];
    const dest = withProgress(createLocalDestination(root), (key, total) => seen.push([key, total]));
    await dest.put("p", pieces(Buffer.alloc(250), 100));
    expect(seen).toEqual([["p", 100], ["p", 200], ["p", 250]]);
    expect((await readAll(await dest.get("p"))).length).toBe(250);
  });

  it("withLogging logs one line per operation with the outcome, never a message", async () => {
    const lines: string[] = [];
    const dest = withLogging(createLocalDestination(root), (l) => lines.push(l));
    await dest.put("l", pieces(Buffer.from("x"), 1));
    await expect(dest.head("missing")).rejects.toBeInstanceOf(NotFoundError);
    expect(lines.map((l) => l.replace(/\d+ ms/, "N ms"))).toEqual([`put ${root} l: ok in N ms`, `head ${root} missing: NotFoundError after N ms`]);
  });
});
