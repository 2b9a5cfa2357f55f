import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { copyBackup } from "../../runtime/src/daemon/copy.js";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { openDestination } from "../../runtime/src/destinations/open.js";
import { createS3Destination } from "../../runtime/src/destinations/s3.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { runBackupPipeline } from "../../runtime/src/pipeline/backup.js";
import { planEncryption } from "../../runtime/src/pipeline/encryption.js";
import { loadConfig } from "../../runtime/src/config/config.js";
import { generateAgeIdentity } from "../../runtime/src/crypto/index.js";
import { createTestBucket, deleteTestBucket, s3SkipReason, s3TestOptions } from "../support/s3-service.js";
import { makeArchive } from "./helpers.js";

let dir: string;
let source: Destination;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudsync-copy-"));
  source = openDestination(join(dir, "local"));
  const archive = await makeArchive(dir);
  const config = loadConfig({ env: {}, flags: { recipients: [generateAgeIdentity().recipient] } });
  await runBackupPipeline({ source: createReadStream(archive.path), sourceInfo: { kind: "archive-file", description: "test" }, destination: source, compression: { algorithm: "gzip", level: 1 }, encryption: await planEncryption(config) });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The copy contract, for a target destination made by `target`. */
function copySuite(target: () => Destination): void {
  it("copies object and manifest byte for byte, manifest last, and is idempotent", async () => {
    const [entry] = await listBackups(source);
    const to = target();
    const r = await copyBackup(source, to, entry!.manifest);
    expect(r).toEqual({ copied: true, bytes: entry!.manifest.object.size, manifestKey: entry!.manifestKey });
    expect((await listBackups(to)).map((b) => b.manifest)).toEqual([entry!.manifest]);
    const a = Buffer.concat(await (await source.get(entry!.manifest.object.key)).toArray());
    const b = Buffer.concat(await (await to.get(entry!.manifest.object.key)).toArray());
    expect(b.equals(a)).toBe(true);
    expect(await copyBackup(source, to, entry!.manifest)).toEqual({ copied: false, bytes: 0, manifestKey: entry!.manifestKey });
  });

  it("refuses a source object that no longer matches its manifest: IntegrityError, nothing listed or left in the target", async () => {
    const [entry] = await listBackups(source);
    const key = entry!.manifest.object.key;
    const path = join(dir, "local", key);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    await writeFile(path, bytes);
    const to = target();
    const err = await copyBackup(source, to, entry!.manifest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(new RegExp(`^copy ${entry!.manifest.id} to .+: read ${entry!.manifest.object.size} bytes with SHA-256 [0-9a-f]{64}, stored ${entry!.manifest.object.size} bytes with SHA-256 [0-9a-f]{64}, but the manifest says`));
    expect(await listBackups(to)).toEqual([]);
    const left: string[] = [];
    for await (const o of to.list("")) left.push(o.key);
    expect(left).toEqual([]);
  });
}

describe("copyBackup to a local directory", () => {
  copySuite(() => openDestination(join(dir, "cloud")));
});

const S3_SKIP = s3SkipReason();
describe.skipIf(S3_SKIP)(`copyBackup to S3 (Ceph RGW)${S3_SKIP ? ` (skipped: ${S3_SKIP})` : ""}`, () => {
  let bucket = "";
  beforeAll(async () => {
    bucket = await createTestBucket("daemon-copy");
  });
  afterAll(async () => {
    if (bucket) await deleteTestBucket(bucket);
  });
  let n = 0;
  copySuite(() => createS3Destination({ ...s3TestOptions(bucket)!, prefix: `run-${n++}` }));
});
