// Shared pieces of the daemon tests: a small real archive, and whether dist/ has the daemon.
import { createWriteStream, existsSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { FIXTURES } from "../support/cli.js";

/** Where the compiled runtime is (process tests run it through bin/cloudsync.js; `npm run build` makes it). */
export const DIST_LOCK = new URL("../../dist/runtime/src/daemon/lock.js", import.meta.url);
export const DIST_DAEMON_COMMAND = new URL("../../dist/runtime/src/cli/commands/daemon.js", import.meta.url);
/** Why process tests cannot run, or undefined. */
export const DIST_SKIP = existsSync(DIST_DAEMON_COMMAND) && existsSync(DIST_LOCK) ? undefined : "dist/ lacks the daemon: run `npm run build` (npm test does) to test it as a process";

/**
 * Puts a mongodump archive at `dir/source.archive`: the real fixture test.bar.archive when the
 * shared fixtures are present, otherwise a 64 KiB demo archive. Returns its path and origin.
 */
export async function makeArchive(dir: string): Promise<{ path: string; origin: string }> {
  const path = join(dir, "source.archive");
  const fixture = join(FIXTURES, "test.bar.archive");
  if (existsSync(fixture)) {
    await copyFile(fixture, path);
    return { path, origin: "fixture test.bar.archive" };
  }
  await pipeline(generateDemoArchive({ targetBytes: 64 * 1024 }), createWriteStream(path));
  return { path, origin: "generated demo archive" };
}

