// Shared by the retention and listing process tests. `addBackup` writes a backup straight into a
// real local destination, for tests that need exact creation times (days old, or two in the same
// second): a data object and a manifest whose size and SHA-256 match it, so checksum verification
// passes, with the files' mtimes set to match. `keysAndArchive` prepares real backups.
import { createHash } from "node:crypto";
import { createWriteStream, utimesSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { manifestKeyFor, objectKeyFor, type BackupManifest } from "../../runtime/src/manifest/manifest.js";
import { writeManifest } from "../../runtime/src/manifest/store.js";
import { runCli } from "../support/cli.js";

export const DAY = 86_400_000;

/** Timeout of a test that runs several real CLI processes, on a machine that may be heavily loaded. */
export const SLOW = 180_000;

/** The id `newBackupId` gives a backup started at `at`, with the random part fixed to `suffix` (6 hex digits). */
export function idAt(at: Date, suffix: string): string {
  return `${at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-${suffix}`;
}

/** Writes a complete age-encrypted-looking backup started at `createdAt`; returns its id and object key. */
export async function addBackup(root: string, createdAt: Date, suffix: string): Promise<{ id: string; key: string }> {
  const id = idAt(createdAt, suffix);
  const key = objectKeyFor(id, "gzip", "age-x25519");
  const body = Buffer.from(`stand-in object of backup ${id}\n`);
  const dest = createLocalDestination(root);
  await dest.put(key, Readable.from([body]));
  const manifest: BackupManifest = {
    format: 1,
    id,
    createdAt: createdAt.toISOString(),
    completedAt: createdAt.toISOString(),
    tool: { name: "cloudsync", version: "0.1.0" },
    archive: { format: "mongodump-archive", version: "0.1", serverVersion: "8.0.0", toolVersion: "100.10.0" },
    source: { kind: "archive-file", description: "test" },
    consistency: { mode: "archive" },
    namespaces: [],
    totals: { namespaces: 0, documents: 0, archiveBytes: 0 },
    compression: { algorithm: "gzip" },
    encryption: { scheme: "age-x25519", recipients: [] },
    object: { key, size: body.length, sha256: createHash("sha256").update(body).digest("hex") },
  };
  await writeManifest(dest, manifest);
  for (const k of [key, manifestKeyFor(id)]) utimesSync(path.join(root, k), createdAt, createdAt);
  return { id, key };
}

/**
 * What process tests that make real backups need, created in `work`: an age identity (by the real
 * `cloudsync keys new`), its recipient, and a generated mongodump archive of about `bytes`.
 */
export async function keysAndArchive(work: string, bytes: number, seed: number): Promise<{ identity: string; recipient: string; archive: string }> {
  const identity = path.join(work, "identity.txt");
  const made = await runCli(["keys", "new", "--out", identity, "--json"]);
  if (made.code !== 0) throw new Error(`keys new failed: ${made.stderr}`);
  const archive = path.join(work, "data.archive");
  await pipeline(generateDemoArchive({ targetBytes: bytes, seed }), createWriteStream(archive));
  return { identity, recipient: made.json<{ recipient: string }>().recipient, archive };
}
