/**
 * Seed sets in a backup destination, encrypted exactly like backups: each file of a verified set
 * goes through the same encryption plan (age, age passphrase or OpenPGP) into
 * `seeds/<id>/<path><suffix>`, one object per file, SHA256SUMS last. Because SHA256SUMS travels
 * encrypted too, a pulled set is checked against digests nobody without the key could forge.
 * Files are not compressed: seed sets are small, and it keeps each object a plain
 * `age -d` away from being readable with stock tools.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import type { EncryptionScheme } from "../crypto/describe.js";
import { detectEnvelope } from "../crypto/detect.js";
import type { Destination } from "../destinations/destination.js";
import { ConfigError, IntegrityError, InterruptedError, NotFoundError } from "../errors.js";
import { objectSuffix } from "../manifest/manifest.js";
import { createDecryptor, type DecryptionKeys, type EncryptionPlan } from "../pipeline/encryption.js";
import { peek } from "../pipeline/streams.js";
import { CHECKSUM_FILE } from "./layout.js";
import { listFiles, verifySeedSet } from "./verify.js";

/** Key prefix of every seed set in a destination. */
export const SEED_PREFIX = "seeds/";

/** Object-name suffix of a seed file for an encryption scheme: `.age`, `.gpg`, or none when unencrypted (seed files are not compressed). */
export function suffixFor(scheme: EncryptionScheme): string {
  return objectSuffix("none", scheme);
}

/** Ids are what appears in keys: letters, digits, `-`, `_`, `.`, starting with a letter or digit. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What `pushSeedSet` stored. */
export interface SeedPushResult {
  readonly id: string;
  readonly destination: string;
  readonly objects: ReadonlyArray<{ readonly key: string; readonly size: number; readonly sha256: string }>;
  readonly encryption: EncryptionPlan["manifest"];
}

/**
 * Verifies the seed set in `dir`, then stores every file encrypted with `encryption` under
 * `seeds/<id>/`. `id` defaults to the UTC time (`20260102T030405Z`) plus the first 8 hex digits of
 * the SHA-256 of SHA256SUMS, so the same set pushed twice at different times gets two ids.
 * SHA256SUMS is stored last: a listing that holds it is complete. Throws IntegrityError when the
 * set does not verify, ConfigError (`--id`) for an id outside `[A-Za-z0-9._-]`, and what the
 * destination throws (RemoteError, LocalIOError); objects already stored are then left for a retry
 * with the same id to overwrite. An aborted `signal` stops the upload and deletes the objects it
 * had stored, then rejects with the signal's reason (or, if a delete fails, an InterruptedError
 * naming what is left).
 */
export async function pushSeedSet(opts: { dir: string; destination: Destination; encryption: EncryptionPlan; id?: string; signal?: AbortSignal }): Promise<SeedPushResult> {
  await verifySeedSet(opts.dir);
  const sums = await readFile(path.join(opts.dir, CHECKSUM_FILE));
  const id = opts.id ?? `${new Date().toISOString().replace(/[-:]|\.\d+/g, "")}-${createHash("sha256").update(sums).digest("hex").slice(0, 8)}`;
  if (!ID_PATTERN.test(id)) throw new ConfigError("--id", `"${id}" is not a seed set id; use letters, digits, ".", "_" and "-"`);
  const files = (await listFiles(opts.dir)).filter((f) => f !== CHECKSUM_FILE).sort();
  files.push(CHECKSUM_FILE);
  const suffix = suffixFor(opts.encryption.manifest.scheme);
  const objects: Array<{ key: string; size: number; sha256: string }> = [];
  try {
    for (const rel of files) {
      opts.signal?.throwIfAborted();
      const plain = createReadStream(path.join(opts.dir, rel));
      const cipher = opts.encryption.create();
      const body: Readable = cipher ? plain.pipe(cipher) : plain;
      // pipe() does not forward errors: a read failure must fail the upload, not stall it.
      if (cipher) plain.on("error", (err) => cipher.destroy(err));
      const res = await opts.destination.put(`${SEED_PREFIX}${id}/${rel}${suffix}`, body, { signal: opts.signal, contentType: "application/octet-stream" });
      objects.push({ key: res.key, size: res.size, sha256: res.sha256 });
    }
  } catch (err) {
    if (!opts.signal?.aborted) throw err;
    // An interrupt leaves nothing behind, not even an unlisted partial set.
    const left: string[] = [];
    for (const o of objects) await opts.destination.delete(o.key).catch(() => left.push(o.key));
    if (left.length) throw new InterruptedError(`seed push to ${opts.destination.url} interrupted: ${left.join(", ")} could not be deleted (the set is not listed without its ${CHECKSUM_FILE}); delete them by hand`, { cause: opts.signal.reason });
    throw opts.signal.reason;
  }
  return { id, destination: opts.destination.url, objects, encryption: opts.encryption.manifest };
}

/**
 * Ids of the seed sets in `destination` that have their SHA256SUMS object (complete pushes),
 * ascending. An empty destination gives an empty list.
 */
export async function listSeedSets(destination: Destination): Promise<string[]> {
  const ids = new Set<string>();
  for await (const o of destination.list(SEED_PREFIX)) {
    const [id, ...rest] = o.key.slice(SEED_PREFIX.length).split("/");
    if (id && /^SHA256SUMS(\.age|\.gpg)?$/.test(rest.join("/"))) ids.add(id);
  }
  return [...ids].sort();
}

/**
 * Downloads seed set `id` into `dir` (which must not exist, or be empty), decrypting each object
 * (the envelope is detected from its first bytes) with `keys`, then verifies the set as
 * `seed import` would. Written to a temporary sibling and renamed into place, so `dir` only ever
 * holds a complete, verified set. Throws NotFoundError when the destination has no complete set
 * `id`, AuthError when no key opens it, IntegrityError when a file does not match SHA256SUMS.
 */
export async function pullSeedSet(opts: { destination: Destination; id: string; dir: string; keys: DecryptionKeys; signal?: AbortSignal }): Promise<{ dir: string; files: number }> {
  const dir = path.resolve(opts.dir);
  if (!ID_PATTERN.test(opts.id)) throw new ConfigError("--id", `"${opts.id}" is not a seed set id`);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  if (entries.length > 0) throw new ConfigError("--to", `${dir} exists and is not empty; choose a new directory`);
  const prefix = `${SEED_PREFIX}${opts.id}/`;
  const keys: string[] = [];
  for await (const o of opts.destination.list(prefix)) keys.push(o.key);
  if (!keys.some((k) => /\/SHA256SUMS(\.age|\.gpg)?$/.test(k))) throw new NotFoundError(`seed set ${opts.id} not found in ${opts.destination.url} (no ${prefix}${CHECKSUM_FILE})`);
  const tmp = path.join(path.dirname(dir), `.${path.basename(dir)}.tmp-${randomBytes(4).toString("hex")}`);
  try {
    for (const key of keys) {
      opts.signal?.throwIfAborted();
      const rel = key.slice(prefix.length).replace(/\.(age|gpg)$/, "");
      if (rel.split("/").some((part) => part === "" || part === "." || part === "..")) throw new IntegrityError(`seed ${key}: not a seed file name`);
      const file = path.join(tmp, rel);
      await mkdir(path.dirname(file), { recursive: true });
      const outer = await peek(await opts.destination.get(key), 64);
      const envelope = detectEnvelope(outer.head);
      if (envelope === "none") await pipeline(outer.stream, createWriteStream(file), { signal: opts.signal });
      else await pipeline(outer.stream, createDecryptor(envelope, opts.keys), createWriteStream(file), { signal: opts.signal });
    }
    await verifySeedSet(tmp);
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    await rename(tmp, dir);
    return { dir, files: keys.length };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
