/**
 * Checking a seed set before anything is written: every file is listed in SHA256SUMS with the
 * right digest, nothing unlisted is present, and seed.json names only listed files.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { IntegrityError, NotFoundError } from "../errors.js";
import { CHECKSUM_FILE, INDEX_FILE, parseChecksums, parseIndex, type SeedIndex } from "./layout.js";

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every file under `root`, as `/`-separated paths relative to it (directories descended). */
export async function listFiles(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}

/**
 * Verifies the seed set in `dir` and returns its parsed seed.json. Throws NotFoundError when
 * `dir` does not exist, and IntegrityError naming the file when SHA256SUMS is missing or
 * malformed, a listed file is missing or its digest differs, a file is present but not listed,
 * or seed.json refers to a file SHA256SUMS does not cover. Reads only; idempotent.
 */
export async function verifySeedSet(dir: string): Promise<SeedIndex> {
  let present: string[];
  try {
    present = await listFiles(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`seed set ${dir} does not exist`);
    throw err;
  }
  if (!present.includes(CHECKSUM_FILE)) throw new IntegrityError(`seed ${dir}: no ${CHECKSUM_FILE}; the set is incomplete (an export that did not finish) or not a seed set`);
  const sums = parseChecksums(await readFile(path.join(dir, CHECKSUM_FILE), "utf8"));
  for (const p of present.sort()) {
    if (p !== CHECKSUM_FILE && !sums.has(p)) throw new IntegrityError(`seed ${p}: present but not listed in ${CHECKSUM_FILE}`);
  }
  for (const [p, expected] of [...sums].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!present.includes(p)) throw new IntegrityError(`seed ${p}: listed in ${CHECKSUM_FILE} but missing`);
    const actual = await sha256File(path.join(dir, p));
    if (actual !== expected) throw new IntegrityError(`seed ${p}: SHA-256 ${actual} does not match ${expected} in ${CHECKSUM_FILE}; the file was changed or damaged`);
  }
  if (!sums.has(INDEX_FILE)) throw new IntegrityError(`seed ${dir}: ${INDEX_FILE} is not listed in ${CHECKSUM_FILE}`);
  const index = parseIndex(await readFile(path.join(dir, INDEX_FILE), "utf8"));
  for (const c of index.collections) {
    for (const f of [c.data, c.metadata]) if (!sums.has(f)) throw new IntegrityError(`seed ${INDEX_FILE}: ${c.ns} refers to ${f}, which ${CHECKSUM_FILE} does not cover`);
  }
  return index;
}
