/**
 * Locates the real mongodump archives kept beside the repository (../shared/fixtures/mongodump);
 * a user's clone does not have them, so tests that need them skip and say why.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../support/paths.js";


/** Folder of the real mongodump archives. */
export const fixtureDir = path.resolve(repoRoot, "../shared/fixtures/mongodump");

/** True when the fixtures are present. */
export const haveFixtures = existsSync(path.join(fixtureDir, "test.bar.archive"));

/** Why fixture tests are skipped, for test names. */
export const fixtureSkipReason = haveFixtures ? "" : ` (SKIPPED: no mongodump fixtures at ${fixtureDir})`;
if (!haveFixtures) console.warn(`archive tests: mongodump fixtures absent at ${fixtureDir}; fixture tests skip`);

/** Reads one fixture file. */
export function fixture(name: string): Buffer {
  return readFileSync(path.join(fixtureDir, name));
}

/** Yields `buf` in chunks of the given sizes (cycled), to exercise arbitrary chunk boundaries. */
export async function* chunked(buf: Buffer, sizes: number[] = [buf.length]): AsyncGenerator<Buffer> {
  let i = 0;
  let k = 0;
  while (i < buf.length) {
    const size = Math.max(1, sizes[k++ % sizes.length]!);
    yield buf.subarray(i, i + size);
    i += size;
  }
}
