import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudSync, type PublicModel } from "../../runtime/src/api.js";
import { loadConfig } from "../../runtime/src/config/config.js";
import { generateAgeIdentity, writeIdentityFile } from "../../runtime/src/crypto/index.js";
import { openDestination } from "../../runtime/src/destinations/open.js";
import { ConfigError, IntegrityError } from "../../runtime/src/errors.js";
import { listBackups } from "../../runtime/src/manifest/store.js";
import { createMetadataServer, type MetadataServer } from "../../runtime/src/metadata/index.js";
import { loadDecryptionKeys } from "../../runtime/src/pipeline/encryption.js";
import { verifyBackup } from "../../runtime/src/pipeline/verify.js";
import { Secret } from "../../runtime/src/secret.js";
import { FIXTURES, FIXTURES_SKIP } from "../support/cli.js";
import { createTestBucket, deleteTestBucket, s3SkipReason } from "../support/s3-service.js";

const API_KEY = "api-test-key-0123456789abcdef";
const work = mkdtempSync(join(tmpdir(), "cloudsync-api-"));

/** The message loadConfig (the CLI's validation) gives for the same CLOUD_SYNC_* environment. */
function cliMessage(env: Record<string, string>): string {
  try {
    loadConfig({ env, configFile: undefined });
  } catch (err) {
    return (err as Error).message.replace(/^[A-Z_]+: /, "");
  }
  throw new Error("expected the CLI validation to fail");
}

describe("createCloudSync validation (the CLI's rules and messages)", () => {
  it("an unknown provider", () => {
    const make = () => createCloudSync({ provider: "dropbox", enabled: true }, { env: {} });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(`provider: ${cliMessage({ CLOUD_SYNC_PROVIDER: "dropbox" })}`);
    expect(make).toThrow('provider: must be one of none, jeffreysanford, s3, backblaze, gcs, got "dropbox"');
  });
  it("jeffreysanford without endpoint and key lists both problems", () => {
    const make = () => createCloudSync({ provider: "jeffreysanford", enabled: true }, { env: {} });
    const cli = cliMessage({ CLOUD_SYNC_ENABLED: "true", CLOUD_SYNC_PROVIDER: "jeffreysanford" });
    expect(cli).toBe("is required when the provider is jeffreysanford (e.g. https://jeffreysanford.us)\n  CLOUD_SYNC_API_KEY: is required when the provider is jeffreysanford (the shared secret of the metadata server)");
    expect(make).toThrow(new ConfigError("endpoint", cli.replace("CLOUD_SYNC_API_KEY:", "apiKey:")));
  });
  it("an endpoint that is not a URL", () => {
    expect(() => createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: "jeffreysanford.us", apiKey: API_KEY }, { env: {} })).toThrow(
      'endpoint: must be a URL such as https://s3.us-west-004.backblazeb2.com, got "jeffreysanford.us"',
    );
  });
  it("an S3 provider needs a bucket", () => {
    expect(() => createCloudSync({ provider: "backblaze", enabled: true }, { env: {} })).toThrow("bucket: is required when the provider is backblaze (the bucket backups go to, optionally bucket/prefix)");
  });
  it("SyncConfig wins over CLOUD_SYNC_* in the environment, and a disabled config is valid with nothing else", () => {
    const sync = createCloudSync({ provider: "none", enabled: false }, { env: { CLOUD_SYNC_ENABLED: "true", CLOUD_SYNC_PROVIDER: "bogus" } });
    expect(sync.isEnabled()).toBe(false);
    expect(createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: "https://example.org", apiKey: new Secret(API_KEY) }, { env: {} }).isEnabled()).toBe(true);
  });
  it("other settings come from the environment layer and are validated as by the CLI", () => {
    expect(() => createCloudSync({ provider: "none", enabled: false }, { env: { CLOUDSYNC_RECIPIENTS: "age1nope" } })).toThrow('CLOUDSYNC_RECIPIENTS: "age1nope" is not an age X25519 recipient');
  });
});

describe("syncMetadata against a real metadata server", () => {
  let server: MetadataServer;
  const models: PublicModel[] = [
    { id: "m-1", name: "Alpha", family: "a", sizeBytes: 10, updatedAt: "2026-11-01T00:00:00Z" },
    { id: "m-2", name: "Beta", updatedAt: "2026-11-02T00:00:00Z" },
  ];
  beforeAll(async () => {
    server = await createMetadataServer({ dbPath: join(work, "meta.sqlite"), apiKey: new Secret(API_KEY) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("pushes the catalogue, then only changes, and tombstones what left it", async () => {
    const sync = createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: server.url, apiKey: API_KEY }, { env: {}, statePath: join(work, "state.json") });
    expect(await sync.syncMetadata(models)).toEqual({ enabled: true, mode: "once", pushed: 2, deleted: 0, unchanged: 0, invalid: 0, batches: 1 });
    const first = (await (await fetch(`${server.url}/api/models?sort=id`)).json()) as { items: PublicModel[] };
    expect(first.items.map((m) => m.id)).toEqual(["m-1", "m-2"]);

    async function* changed(): AsyncIterable<PublicModel> {
      yield { ...models[0]!, name: "Alpha 2", updatedAt: "2026-11-03T00:00:00Z" };
    }
    expect(await sync.syncMetadata(changed())).toEqual({ enabled: true, mode: "once", pushed: 1, deleted: 1, unchanged: 0, invalid: 0, batches: 2 });
    const after = (await (await fetch(`${server.url}/api/models?sort=id`)).json()) as { items: PublicModel[] };
    expect(after.items).toEqual([{ id: "m-1", name: "Alpha 2", family: "a", sizeBytes: 10, updatedAt: "2026-11-03T00:00:00Z" }]);
  });

  it("disabled: no network call", async () => {
    const sync = createCloudSync({ provider: "jeffreysanford", enabled: false, endpoint: "http://127.0.0.1:1" }, { env: {}, statePath: join(work, "off.json") });
    expect(await sync.syncMetadata(models)).toEqual({ enabled: false, mode: "disabled", pushed: 0, deleted: 0, unchanged: 0, invalid: 0, batches: 0 });
  });

  it("a wrong key is refused by the server (AuthError)", async () => {
    const sync = createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: server.url, apiKey: "wrong-key-0123456789abcdef" }, { env: {}, statePath: join(work, "wrong.json") });
    await expect(sync.syncMetadata(models)).rejects.toMatchObject({ code: "auth" });
  });

  it("an S3 provider cannot push metadata", async () => {
    const sync = createCloudSync({ provider: "s3", enabled: true, bucket: "b" }, { env: {} });
    await expect(sync.syncMetadata(models)).rejects.toThrow('provider: syncMetadata pushes to the metadata server, so the provider must be jeffreysanford, got "s3"');
  });
});

if (FIXTURES_SKIP) console.warn(`skipping uploadBackup tests: ${FIXTURES_SKIP}`);
describe.skipIf(!!FIXTURES_SKIP)("uploadBackup", () => {
  const archive = join(FIXTURES, "test.bar.archive");
  const { identity, recipient } = generateAgeIdentity();
  const identityFile = join(work, "identity.txt");
  beforeAll(async () => {
    await writeIdentityFile(identityFile, identity, recipient);
  });

  /** Reads the backup back with the identity: size, SHA-256, decryption, every CRC and count. */
  async function expectVerified(destSpec: string, env: Record<string, string>, uploaded: { id: string; key: string; sha256: string; size: number }): Promise<void> {
    const config = loadConfig({ env: { ...env, CLOUDSYNC_IDENTITY_FILE: identityFile } });
    const dest = openDestination(destSpec, { endpoint: config.s3.endpoint, region: config.s3.region, accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey, forcePathStyle: true });
    const listed = await listBackups(dest);
    expect(listed.map((e) => [e.manifest.id, e.manifest.object.key, e.manifest.object.sha256, e.manifest.object.size])).toEqual([[uploaded.id, uploaded.key, uploaded.sha256, uploaded.size]]);
    const v = await verifyBackup(dest, uploaded.id, await loadDecryptionKeys(config), { record: false });
    expect(v.record.ok).toBe(true);
  }

  it("to the local destination (CLOUDSYNC_DESTINATION) for the jeffreysanford provider, encrypted to CLOUDSYNC_RECIPIENTS", async () => {
    const dir = join(work, "local-backups");
    const env = { CLOUDSYNC_DESTINATION: dir, CLOUDSYNC_RECIPIENTS: recipient };
    const sync = createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: "https://example.org", apiKey: API_KEY }, { env });
    const up = await sync.uploadBackup(archive);
    expect(up.key).toBe(`data/${up.id}.archive.gz.age`);
    expect(up.destination).toBe(dir);
    await expectVerified(dir, env, up);
  });

  it("refuses when disabled, an unreadable file, a damaged archive, and no key", async () => {
    const env = { CLOUDSYNC_DESTINATION: join(work, "refusals"), CLOUDSYNC_RECIPIENTS: recipient };
    await expect(createCloudSync({ provider: "none", enabled: false }, { env }).uploadBackup(archive)).rejects.toThrow("enabled: is false: cloud sync is off, so uploadBackup uploads nothing (check isEnabled() first)");
    const on = createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: "https://example.org", apiKey: API_KEY }, { env });
    await expect(on.uploadBackup(join(work, "missing.archive"))).rejects.toThrow(`filePath: cannot read ${join(work, "missing.archive")}: ENOENT`);
    await expect(on.uploadBackup(join(FIXTURES, "bad-format.archive"))).rejects.toBeInstanceOf(IntegrityError);
    expect(await listBackups(openDestination(env.CLOUDSYNC_DESTINATION))).toEqual([]);
    const noKey = createCloudSync({ provider: "jeffreysanford", enabled: true, endpoint: "https://example.org", apiKey: API_KEY }, { env: { CLOUDSYNC_DESTINATION: env.CLOUDSYNC_DESTINATION } });
    await expect(noKey.uploadBackup(archive)).rejects.toThrow("recipients: no encryption key given: set age recipients (recipients, --recipient age1…;");
  });

  const s3Skip = s3SkipReason();
  if (s3Skip) console.warn(`skipping uploadBackup over S3: ${s3Skip}`);
  describe.skipIf(!!s3Skip)("to the real S3 server", () => {
    let bucket: string;
    beforeAll(async () => {
      bucket = await createTestBucket("api");
    });
    afterAll(async () => {
      if (bucket) await deleteTestBucket(bucket);
    });
    it("provider s3 with bucket/prefix and SyncConfig.endpoint as the S3 endpoint", async () => {
      const env = { AWS_ACCESS_KEY_ID: process.env.S3_TEST_ACCESS_KEY!, AWS_SECRET_ACCESS_KEY: process.env.S3_TEST_SECRET_KEY!, AWS_REGION: process.env.S3_TEST_REGION || "us-east-1", CLOUDSYNC_RECIPIENTS: recipient };
      const sync = createCloudSync({ provider: "s3", enabled: true, endpoint: process.env.S3_TEST_ENDPOINT!, bucket: `${bucket}/app` }, { env });
      const up = await sync.uploadBackup(archive);
      expect(up.destination).toBe(`s3://${bucket}/app/`);
      await expectVerified(`s3://${bucket}/app`, { ...env, CLOUDSYNC_S3_ENDPOINT: process.env.S3_TEST_ENDPOINT! }, up);
    });
  });
});
