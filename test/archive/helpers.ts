/** Small helpers shared by the archive tests. */
import { readArchive } from "../../runtime/src/archive/reader.js";
import type { ArchiveEvent } from "../../runtime/src/archive/types.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { expect } from "vitest";

/** Collects every event of an archive. */
export async function collectEvents(input: AsyncIterable<Uint8Array>): Promise<ArchiveEvent[]> {
  const events: ArchiveEvent[] = [];
  for await (const e of readArchive(input)) events.push(e);
  return events;
}

/** Awaits `p`, expects an IntegrityError and returns its message. */
export async function integrityMessage(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrityError);
    return (err as Error).message;
  }
  throw new Error("expected an IntegrityError, got success");
}

/** Flips the lowest bit of one byte in place. */
export function flip(buf: Buffer, at: number): void {
  buf[at] = buf[at]! ^ 0x01;
}

/** Deterministic pseudo-random chunk sizes in [1, max]. */
export function randomSizes(seed: number, count: number, max: number): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(1 + (x % max));
  }
  return out;
}
