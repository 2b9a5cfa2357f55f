// Issue 16, through the real `cloudsync` process: backup, list, verify, restore, estimate and
// prune take azblob://container/prefix (on Azurite or AZURE_TEST_CONNECTION_STRING) and
// gs://bucket/prefix (on fake-gcs-server or GCS_TEST_PROJECT), with credentials from the
// environment; a damaged object fails verify, and a wrong Azure key is an auth error that never
// shows the key.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_SKIP, runCli } from "../support/cli.js";
import { azureSkipReason } from "../support/azurite-service.js";
import { gcsSkipReason } from "../support/fake-gcs-service.js";
import { uniqueStoreName } from "../support/service.js";
import { keysAndArchive, SLOW } from "../retention/helpers.js";

interface Store {
  readonly name: string;
  readonly skip?: string;
  /** Creates the container or bucket; returns the destination spec, the CLI's environment, and a raw rewrite of one object's bytes. */
  readonly create: () => Promise<{ spec: string; env: Record<string, string>; damage: (key: string) => Promise<void>; remove: () => Promise<void> }>;
}

const flip = (bytes: Buffer): Buffer => {
  const out = Buffer.from(bytes);
  out[out.length - 1] = (out[out.length - 1] as number) ^ 0x01;
  return out;
};

const stores: Store[] = [
  {
    name: "azblob://",
    skip: CLI_SKIP ?? azureSkipReason(),
    async create() {
      const container = uniqueStoreName("cli");
      const service = BlobServiceClient.fromConnectionString(process.env.AZURE_TEST_CONNECTION_STRING ?? "");
      const c = service.getContainerClient(container);
      await c.create();
      return {
        spec: `azblob://${container}/home/mongo`,
        env: { AZURE_STORAGE_CONNECTION_STRING: process.env.AZURE_TEST_CONNECTION_STRING ?? "" },
        // A new upload of damaged bytes: the service's MD5 matches them, so only our SHA-256 can tell.
        async damage(key) {
          const blob = c.getBlockBlobClient(`home/mongo/${key}`);
          const bytes = flip(await blob.downloadToBuffer());
          await blob.upload(bytes, bytes.length);
        },
        remove: async () => void (await c.deleteIfExists()),
      };
    },
  },
  {
    name: "gs://",
    skip: CLI_SKIP ?? gcsSkipReason(),
    async create() {
      const bucket = uniqueStoreName("cli");
      const endpoint = process.env.GCS_TEST_ENDPOINT;
      const storage = new Storage(endpoint ? { apiEndpoint: endpoint, projectId: "test" } : { projectId: process.env.GCS_TEST_PROJECT });
      await storage.createBucket(bucket);
      return {
        spec: `gs://${bucket}/home/mongo`,
        env: endpoint ? { CLOUDSYNC_GCS_ENDPOINT: endpoint } : ({} as Record<string, string>),
        async damage(key) {
          const file = storage.bucket(bucket).file(`home/mongo/${key}`);
          const [bytes] = await file.download();
          await file.save(flip(bytes), { resumable: false });
        },
        remove: async () => {
          await storage.bucket(bucket).deleteFiles({ force: true });
          await storage.bucket(bucket).delete();
        },
      };
    },
  },
];

for (const store of stores) {
  describe.skipIf(!!store.skip)(`cloudsync with a ${store.name} destination, as processes${store.skip ? ` (skipped: ${store.skip})` : ""}`, () => {
    let work: string;
    let identity: string;
    let recipient: string;
    let archive: string;
    let spec: string;
    let env: Record<string, string>;
    let damage: (key: string) => Promise<void>;
    let remove: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "cloudsync-cloudstore-cli-"));
      // 12 MiB: more than one 8 MiB block or resumable chunk.
      ({ identity, recipient, archive } = await keysAndArchive(work, 12 << 20, 16));
      ({ spec, env, damage, remove } = await store.create());
    }, SLOW);
    afterAll(async () => {
      await remove?.().catch((err: unknown) => console.warn(`cleanup failed: ${String(err)}`));
      rmSync(work, { recursive: true, force: true });
    });

    it("backs up, lists, verifies, restores, estimates and prunes; a damaged object fails verify with exit 4", async () => {
      const first = await runCli(["backup", "--from-archive", archive, "--to", spec, "-r", recipient, "--json"], { env });
      expect(first.code, first.stderr).toBe(0);
      const one = first.json<{ id: string; key: string; destination: string }>();
      expect(one.destination).toBe(`${spec}/`);

      const l = await runCli(["list", "--from", spec, "--json"], { env });
      expect(l.code, l.stderr).toBe(0);
      expect(l.json<Array<{ id: string; key: string }>>().map((e) => [e.id, e.key])).toEqual([[one.id, one.key]]);

      const v = await runCli(["verify", one.id, "--from", spec, "-i", identity, "--json"], { env });
      expect(v.code, v.stderr).toBe(0);

      const target = join(work, "restored");
      const r = await runCli(["restore", "latest", "--from", spec, "--to", `dir://${target}`, "-i", identity], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(join(target, "cloudsync")).filter((f) => f.endsWith(".bson")).length).toBeGreaterThan(0);

      const e = await runCli(["estimate", "--from", spec, "--json"], { env });
      expect(e.code, e.stderr).toBe(0);
      expect(e.json<{ backups: { destination: string; count: number } }>().backups).toMatchObject({ destination: `${spec}/`, count: 1 });

      const second = await runCli(["backup", "--from-archive", archive, "--to", spec, "-r", recipient, "--json"], { env });
      expect(second.code, second.stderr).toBe(0);
      const two = second.json<{ id: string }>();
      // Prune removes only what a newer verified backup supersedes.
      expect((await runCli(["verify", two.id, "--from", spec, "-i", identity], { env })).code).toBe(0);
      const p = await runCli(["prune", "--from", spec, "--keep-last", "1", "--keep-within", "0", "--json"], { env });
      expect(p.code, p.stderr).toBe(0);
      const after = await runCli(["list", "--from", spec, "--json"], { env });
      expect(after.json<Array<{ id: string }>>().map((b) => b.id)).toEqual([two.id]);

      await damage(second.json<{ key: string }>().key);
      const bad = await runCli(["verify", two.id, "--from", spec, "--json"], { env });
      expect(bad.code, bad.stdout + bad.stderr).toBe(4);
    }, SLOW);

    if (store.name === "azblob://") {
      it("a wrong account key exits 6 naming the operation, and the key is never printed", async () => {
        const key = Buffer.from("WrongAccountKeyValue-0123456789-abcdef").toString("base64");
        const cs = (process.env.AZURE_TEST_CONNECTION_STRING ?? "").replace(/AccountKey=[^;]+/, `AccountKey=${key}`);
        const r = await runCli(["list", "--from", spec, "--debug"], { env: { AZURE_STORAGE_CONNECTION_STRING: cs } });
        expect(r.code, r.stderr).toBe(6);
        expect(r.stderr).toMatch(/^cloudsync: azblob list home\/mongo\/.*: access denied/m);
        expect(r.stdout + r.stderr).not.toContain(key);
      });

      it("without credentials the destination is a usage error (exit 2) saying which variables to set", async () => {
        const r = await runCli(["list", "--from", spec], { env: { AZURE_STORAGE_CONNECTION_STRING: "" } });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("azure: no credentials; set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN");
      });
    }
  });
}
