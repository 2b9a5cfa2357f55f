import { Readable } from "node:stream";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { objectKeyFor, type BackupManifest } from "../../runtime/src/manifest/manifest.js";
import { writeManifest } from "../../runtime/src/manifest/store.js";

const DAY = 86_400_000;

/**
 * Writes complete backups into the local destination at `root`, one per entry of `ageDays` (how
 * many days ago each was made), with a 6-byte data object and a manifest naming it. For retention
 * tests: the data is not an archive and its checksum is not real. Returns the ids, in the given order.
 */
export async function writeAgedBackups(root: string, ageDays: readonly number[]): Promise<string[]> {
  const dest = createLocalDestination(root);
  const ids: string[] = [];
  for (const [i, age] of ageDays.entries()) {
    const createdAt = new Date(Date.now() - age * DAY);
    const id = `${createdAt.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}-00000${i}`;
    const key = objectKeyFor(id, "gzip", "age-x25519");
    await dest.put(key, Readable.from([Buffer.from(`data ${i}`)]));
    await writeManifest(dest, { format: 1, id, createdAt: createdAt.toISOString(), completedAt: createdAt.toISOString(), namespaces: [], object: { key, size: 6, sha256: "0".repeat(64) } } as unknown as BackupManifest);
    ids.push(id);
  }
  return ids;
}
