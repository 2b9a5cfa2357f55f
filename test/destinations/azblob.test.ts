// The Azure Blob destination against a real service: Azurite, which the global setup starts, or
// the developer's own account when AZURE_TEST_CONNECTION_STRING is set. Faults are injected for
// real by the TCP proxy in front of Azurite (plain HTTP only, so not for a real account).
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureBlobDestination, type AzureBlobDestinationOptions } from "../../runtime/src/destinations/azblob.js";
import { blockSizeAt, MAX_BLOCK_SIZE, MAX_BLOCKS, maxBlobSize } from "../../runtime/src/destinations/azblob-upload.js";
import type { Destination } from "../../runtime/src/destinations/destination.js";
import { basePartSize, MiB } from "../../runtime/src/destinations/part-size.js";
import { AuthError, ConfigError, IntegrityError, NotFoundError, RemoteError } from "../../runtime/src/errors.js";
import { redactText, Secret } from "../../runtime/src/secret.js";
import { azureSkipReason, azureTestOptions, azuriteConnectionString } from "../support/azurite-service.js";
import { uniqueStoreName } from "../support/service.js";
import { startFaultProxy, type FaultProxy, type SeenRequest } from "../support/fault-proxy.js";
import { runDestinationContract } from "./contract.js";
import { DIST_SKIP, killDuringPut, runSharedProxyCases } from "./faults.js";
import { listAll, pieces, sha256 } from "./helpers.js";
import { readAll } from "../support/streams.js";

const skip = azureSkipReason();
if (skip) console.warn(`Azure destination tests skip: ${skip}`);
const emulated = process.env.AZURE_TEST_EMULATOR === "azurite";
const server = emulated ? "Azure Blob (Azurite)" : "Azure Blob (AZURE_TEST_CONNECTION_STRING)";
const BLOCK = 5 * MiB;
const TiB = 1024 * 1024 * MiB;

const service = () => BlobServiceClient.fromConnectionString(process.env.AZURE_TEST_CONNECTION_STRING ?? "");
const containers: string[] = [];
async function containerFor(label: string): Promise<string> {
  const name = uniqueStoreName(label);
  await service().getContainerClient(name).create();
  containers.push(name);
  return name;
}
afterAll(async () => {
  for (const name of containers) await service().getContainerClient(name).deleteIfExists().catch((err: unknown) => console.warn(`cleanup of ${name} failed: ${String(err)}`));
});

function dest(container: string, extra: Partial<AzureBlobDestinationOptions> = {}): Destination {
  return createAzureBlobDestination({ ...azureTestOptions(container), blockSize: BLOCK, ...extra });
}
const raw = (container: string): ContainerClient => service().getContainerClient(container);

describe("Azure secrets in text", () => {
  it("the account key and SAS of a connection string are blanked, alone or inside it, registered or not", () => {
    const key = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVlLTAxMjM0NTY3ODk=";
    const cs = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net`;
    expect(redactText(`failed with ${cs}`, [])).toBe("failed with DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=**redacted**;EndpointSuffix=core.windows.net");
    expect(redactText(`signing with ${key} failed`, [new Secret(cs)])).toBe("signing with **redacted** failed");
    expect(redactText("BlobEndpoint=https://a;SharedAccessSignature=sv=2024&sig=abc123", [])).toBe("BlobEndpoint=https://a;SharedAccessSignature=**redacted**");
  });
});

describe("Azure block sizing", () => {
  it("grows blocks so 50,000 of them hold more than any backup: ≈160 TiB without a size hint", () => {
    expect(blockSizeAt(0, 8 * MiB)).toBe(8 * MiB);
    expect(blockSizeAt(1_000, 8 * MiB)).toBe(16 * MiB);
    expect(blockSizeAt(9_000, 8 * MiB)).toBe(MAX_BLOCK_SIZE);
    expect(blockSizeAt(MAX_BLOCKS - 1, 8 * MiB)).toBe(MAX_BLOCK_SIZE);
    expect(maxBlobSize(8 * MiB)).toBeGreaterThan(160 * TiB);
    // A hint spreads the object over at most 9,000 blocks.
    const hint = 30 * TiB;
    const base = basePartSize(8 * MiB, hint);
    let total = 0;
    for (let i = 0; i < 9_000; i++) total += blockSizeAt(i, base);
    expect(total).toBeGreaterThanOrEqual(hint);
  });
});

runDestinationContract(server, async () => dest(await containerFor("contract")), { multipartBytes: 2 * BLOCK + 12_345, skip });
runDestinationContract(`${server} with a key prefix`, async () => dest(await containerFor("contract-prefix"), { prefix: "/some/prefix/" }), { multipartBytes: 2 * BLOCK + 1, skip });

describe.skipIf(!!skip)(`Azure Blob destination specifics${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let container: string;
  beforeAll(async () => {
    container = await containerFor("specifics");
  });

  it("stores blobs under the prefix, reports keys relative to it, and records the whole body's MD5", async () => {
    const d = dest(container, { prefix: "team/db" });
    expect(d.url).toBe(`azblob://${container}/team/db/`);
    const data = randomBytes(2 * BLOCK + 3);
    await d.put("x/1", Readable.from(pieces(data, 256 * 1024)), { contentType: "application/octet-stream" });
    const names: string[] = [];
    for await (const b of raw(container).listBlobsFlat({ prefix: "team/" })) names.push(b.name);
    expect(names).toEqual(["team/db/x/1"]);
    const props = await raw(container).getBlobClient("team/db/x/1").getProperties();
    expect(Buffer.from(props.contentMD5 ?? []).toString("base64")).toBe(createHash("md5").update(data).digest("base64"));
    expect((await listAll(d, "")).map((i) => i.key)).toEqual(["x/1"]);
  });

  it("a flipped byte in a stored blob is an IntegrityError on get (the blob's Content-MD5 no longer matches)", async () => {
    const d = dest(container);
    const data = randomBytes(100_000);
    await d.put("flip/one", Readable.from([data]));
    const blob = raw(container).getBlockBlobClient("flip/one");
    const original = (await blob.getProperties()).contentMD5;
    const damaged = Buffer.from(data);
    damaged[50_000] = (damaged[50_000] as number) ^ 0xff;
    // Rewrite the bytes, then put the old MD5 back, as bit rot under an unchanged property would look.
    await blob.upload(damaged, damaged.length);
    await blob.setHTTPHeaders({ blobContentMD5: original });
    const err = await readAll(await d.get("flip/one")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/^azblob get flip\/one: the bytes read do not match the blob's Content-MD5 \(.+ instead of .+\); the stored blob is damaged$/);
  });

  it("a wrong account key is an AuthError that names the operation and never shows the key", async () => {
    const key = Buffer.from("definitely-not-the-key-42-definitely-not").toString("base64");
    const cs = (process.env.AZURE_TEST_CONNECTION_STRING ?? "").replace(/AccountKey=[^;]+/, `AccountKey=${key}`);
    const d = dest(container, { connectionString: new Secret(cs) });
    const err = await d.head("anything").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/^azblob head anything: access denied \((AuthenticationFailed|HTTP 403)\); check the connection string, account key or SAS token/);
    const put = await d.put("k", Readable.from([Buffer.from("x")])).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(AuthError);
    expect(JSON.stringify(put) + String(put) + (put as Error).stack).not.toContain(key);
  });

  it("a missing container is NotFoundError saying so", async () => {
    const d = dest(uniqueStoreName("missing"));
    await expect(d.head("k")).rejects.toThrow(NotFoundError);
    await expect(d.put("k", Readable.from([Buffer.from("x")]))).rejects.toThrow("azblob put k: the container does not exist; create it or check the container name");
  });

  it("rejects bad options with ConfigError naming the field", () => {
    const base = azureTestOptions(container);
    expect(() => createAzureBlobDestination({ ...base, container: "No_Such" })).toThrow(/^container: /);
    expect(() => createAzureBlobDestination({ ...base, container: "a--b" })).toThrow(ConfigError);
    expect(() => createAzureBlobDestination({ container })).toThrow(
      "azure: no credentials; set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN",
    );
    expect(() => createAzureBlobDestination({ ...base, accountKey: new Secret("k") })).toThrow("azure: more than one of a connection string, an account key and a SAS token is set; keep one");
    expect(() => createAzureBlobDestination({ container, accountKey: new Secret("k") })).toThrow(/^account: "" is not a storage account name/);
    expect(() => createAzureBlobDestination({ ...base, blockSize: MiB })).toThrow("blockSize: must be an integer between 5242880 (5 MiB) and 4194304000 (4000 MiB) bytes");
    expect(() => createAzureBlobDestination({ ...base, queueSize: 0 })).toThrow("queueSize: must be an integer between 1 and 64");
    expect(() => createAzureBlobDestination({ ...base, prefix: "a/../b" })).toThrow(/^prefix: /);
  });
});

const proxySkip = skip ?? (emulated ? undefined : "the fault proxy speaks plain HTTP, so it runs against Azurite only");
describe.skipIf(!!proxySkip)(`Azure Blob through a fault-injecting proxy${proxySkip ? ` (skipped: ${proxySkip})` : ""}`, () => {
  let container: string;
  let proxy: FaultProxy;
  beforeAll(async () => {
    container = await containerFor("faults");
    const endpoint = /BlobEndpoint=(http:\/\/[^/;]+)/.exec(process.env.AZURE_TEST_CONNECTION_STRING ?? "")?.[1] as string;
    proxy = await startFaultProxy(endpoint);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const viaProxy = (extra: Partial<AzureBlobDestinationOptions> = {}) => dest(container, { connectionString: new Secret(azuriteConnectionString(proxy.endpoint)), ...extra });
  const isBlock = (r: Pick<SeenRequest, "method" | "url">) => r.method === "PUT" && r.url.includes("comp=block&");
  const since = (start: number) => proxy.requests.slice(start);

  async function roundTrip(key: string, size: number, extra: Partial<AzureBlobDestinationOptions> = {}): Promise<void> {
    const data = randomBytes(size);
    const result = await viaProxy(extra).put(key, Readable.from(pieces(data, 256 * 1024)));
    expect(result).toEqual({ key, size, sha256: sha256(data) });
    expect((await readAll(await dest(container).get(key))).equals(data)).toBe(true);
  }

  it("sends every block and small blob with Content-MD5, then one block list", async () => {
    const start = proxy.requests.length;
    proxy.setPlan(() => undefined);
    await roundTrip("plain/multi", 2 * BLOCK + 3);
    await roundTrip("plain/single", 1000);
    const puts = since(start).filter((r) => r.method === "PUT");
    expect(puts.map((r) => (isBlock(r) ? "block" : r.url.includes("comp=blocklist") ? "list" : "blob"))).toEqual(["block", "block", "block", "list", "blob"]);
    for (const r of puts.filter((p) => !p.url.includes("comp=blocklist"))) expect(r.headers["content-md5"]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  });

  it("retries 503s on every block, the block list and the small-blob put, then succeeds", async () => {
    const failed = new Set<string>();
    proxy.setPlan((r) => (r.method === "PUT" && !failed.has(r.url) && failed.add(r.url) ? { kind: "503" } : undefined));
    const start = proxy.requests.length;
    await roundTrip("retry/503-multi", 2 * BLOCK + 5);
    await roundTrip("retry/503-single", 10);
    expect(since(start).filter((r) => r.fault?.kind === "503")).toHaveLength(5);
  });

  it("retries a connection reset in the middle of a block's body", async () => {
    let resets = 0;
    proxy.setPlan((r) => (isBlock(r) && resets++ === 1 ? { kind: "reset" } : undefined));
    await roundTrip("retry/reset", 2 * BLOCK + 7);
    expect(resets).toBe(4);
  });

  it("retries a stalled request after requestTimeoutMs with no bytes moving", async () => {
    let stalls = 0;
    proxy.setPlan((r) => (isBlock(r) && stalls++ === 0 ? { kind: "stall", ms: 4_000 } : undefined));
    const started = Date.now();
    await roundTrip("retry/stall", BLOCK + 1, { requestTimeoutMs: 1_000 });
    expect(stalls).toBe(3);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("a block damaged in transit is refused by the service (Md5Mismatch) and sent again", async () => {
    let flips = 0;
    proxy.setPlan((r) => (isBlock(r) && flips++ === 0 ? { kind: "flip" } : undefined));
    const start = proxy.requests.length;
    await roundTrip("retry/flip", 2 * BLOCK + 11);
    expect(since(start).filter((r) => r.fault?.kind === "flip")).toHaveLength(1);
    expect(since(start).filter(isBlock)).toHaveLength(4);
  });

  it("a persistent 503 on blocks fails with RemoteError and leaves nothing listed", async () => {
    proxy.setPlan((r) => (isBlock(r) ? { kind: "503" } : undefined));
    const key = "fail/blocks";
    const err = await viaProxy({ maxAttempts: 3 })
      .put(key, Readable.from(pieces(randomBytes(2 * BLOCK + 1), 256 * 1024)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).operation).toBe(`azblob put ${key}`);
    expect((err as Error).message).toBe(`azblob put ${key}: ServiceUnavailable, HTTP 503: injected by fault proxy after 3 attempts`);
    proxy.setPlan(() => undefined);
    await expect(dest(container).head(key)).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(dest(container), "fail/")).toEqual([]);
  });

  runSharedProxyCases({ piece: "block", pieceSize: BLOCK, proxy: () => proxy, viaProxy, isPiece: isBlock });
});

// kill -9 mid-upload, for real: a child process runs the compiled module from dist/.
const killSkip = skip ?? DIST_SKIP;
describe.skipIf(!!killSkip)(`kill -9 during an Azure Blob upload${killSkip ? ` (skipped: ${killSkip})` : ""}`, () => {
  it("leaves nothing listed; the staged blocks are uncommitted and the service drops them", async () => {
    const container = await containerFor("kill");
    const pending = async (): Promise<string[]> => {
      const names: string[] = [];
      for await (const b of raw(container).listBlobsFlat({ includeUncommitedBlobs: true })) names.push(b.name);
      return names;
    };
    const remotes = { azure: { connectionString: process.env.AZURE_TEST_CONNECTION_STRING, blockSize: BLOCK } };
    await killDuringPut(`azblob://${container}/pre`, "backups/killed", { remotes, landed: async () => (await pending()).length > 0 });
    const d = dest(container, { prefix: "pre" });
    await expect(d.head("backups/killed")).rejects.toBeInstanceOf(NotFoundError);
    expect(await listAll(d, "")).toEqual([]);
    // Asked for explicitly, the service shows the name whose blocks wait uncommitted.
    expect(await pending()).toEqual(["pre/backups/killed"]);
  });
});
