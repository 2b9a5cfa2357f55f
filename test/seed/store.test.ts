// Seed sets in a destination: encrypted per file like backups, listed only when complete, pulled
// back byte for byte and verified; the wrong key or a flipped byte never yields a set.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAgeIdentity, recipientFingerprint } from "../../runtime/src/crypto/index.js";
import { createLocalDestination } from "../../runtime/src/destinations/local.js";
import { AuthError, IntegrityError, NotFoundError } from "../../runtime/src/errors.js";
import { createAgeEncryptStream } from "../../runtime/src/crypto/index.js";
import type { EncryptionPlan } from "../../runtime/src/pipeline/encryption.js";
import { formatChecksums } from "../../runtime/src/seed/layout.js";
import { listSeedSets, pullSeedSet, pushSeedSet } from "../../runtime/src/seed/store.js";

const haveAge = spawnSync("age", ["--version"]).status === 0;
if (!haveAge) console.warn("test/seed/store: the stock-age check is skipped, the age CLI is not installed (apt-get install age)");

const FILES: Record<string, string> = {
  "seed.json": `${JSON.stringify({ format: "cloudsync-seed", version: 1, collections: [{ ns: "shop.items", data: "data/shop/items.ejson", metadata: "data/shop/items.metadata.json", documents: 1 }] }, null, 2)}\n`,
  "data/shop/items.ejson": '{"_id":{"$numberInt":"1"},"secret":"customer list"}\n',
  "data/shop/items.metadata.json": '{"options":{},"indexes":[]}\n',
};

async function writeSet(dir: string): Promise<void> {
  const sums = new Map<string, string>();
  for (const [rel, text] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
    sums.set(rel, createHash("sha256").update(text).digest("hex"));
  }
  await writeFile(path.join(dir, "SHA256SUMS"), formatChecksums(sums));
}

describe("seed sets in a destination", () => {
  const key = generateAgeIdentity();
  const plan: EncryptionPlan = { manifest: { scheme: "age-x25519", recipients: [recipientFingerprint(key.recipient)] }, create: () => createAgeEncryptStream({ recipients: [key.recipient] }) };
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "cloudsync-seedstore-"));
    await writeSet(path.join(work, "set"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("stores every file encrypted under seeds/<id>/, SHA256SUMS last, and pulls back identical files", async () => {
    const dest = createLocalDestination(path.join(work, "dest"));
    const pushed = await pushSeedSet({ dir: path.join(work, "set"), destination: dest, encryption: plan, id: "s1" });
    expect(pushed.objects.map((o) => o.key)).toEqual(["seeds/s1/data/shop/items.ejson.age", "seeds/s1/data/shop/items.metadata.json.age", "seeds/s1/seed.json.age", "seeds/s1/SHA256SUMS.age"]);
    const stored = await readFile(path.join(work, "dest/seeds/s1/data/shop/items.ejson.age"));
    expect(stored.subarray(0, 21).toString()).toBe("age-encryption.org/v1");
    expect(stored.includes(Buffer.from("customer list"))).toBe(false);
    expect(await listSeedSets(dest)).toEqual(["s1"]);

    const out = path.join(work, "pulled");
    expect(await pullSeedSet({ destination: dest, id: "s1", dir: out, keys: { ageIdentities: [key.identity] } })).toEqual({ dir: out, files: 4 });
    for (const [rel, text] of Object.entries(FILES)) expect(await readFile(path.join(out, rel), "utf8")).toBe(text);
    expect(await readFile(path.join(out, "SHA256SUMS"), "utf8")).toBe(await readFile(path.join(work, "set/SHA256SUMS"), "utf8"));
  });

  it.skipIf(!haveAge)("each stored object opens with stock `age -d -i identity` (skipped without the age CLI)", async () => {
    const keyFile = path.join(work, "identity.txt");
    await writeFile(keyFile, `${key.identity.reveal()}\n`, { mode: 0o600 });
    const plain = execFileSync("age", ["-d", "-i", keyFile, path.join(work, "dest/seeds/s1/data/shop/items.ejson.age")]).toString();
    expect(plain).toBe(FILES["data/shop/items.ejson"]);
    await rm(keyFile);
  });

  it("default ids are the UTC time plus a digest prefix", async () => {
    const dest = createLocalDestination(path.join(work, "dest2"));
    const { id } = await pushSeedSet({ dir: path.join(work, "set"), destination: dest, encryption: plan });
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  });

  it("refuses the wrong key and a flipped byte, leaving no directory behind", async () => {
    const dest = createLocalDestination(path.join(work, "dest"));
    const other = generateAgeIdentity();
    await expect(pullSeedSet({ destination: dest, id: "s1", dir: path.join(work, "wrong"), keys: { ageIdentities: [other.identity] } })).rejects.toThrow(AuthError);
    const obj = path.join(work, "dest/seeds/s1/data/shop/items.ejson.age");
    const bytes = await readFile(obj);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 1;
    await writeFile(obj, bytes);
    await expect(pullSeedSet({ destination: dest, id: "s1", dir: path.join(work, "flipped"), keys: { ageIdentities: [key.identity] } })).rejects.toThrow(IntegrityError);
    expect((await readdir(work)).sort()).toEqual(["dest", "dest2", "pulled", "set"]);
  });

  it("a set without its SHA256SUMS object is not listed and not pulled", async () => {
    const dest = createLocalDestination(path.join(work, "dest"));
    await dest.delete("seeds/s1/SHA256SUMS.age");
    expect(await listSeedSets(dest)).toEqual([]);
    await expect(pullSeedSet({ destination: dest, id: "s1", dir: path.join(work, "none"), keys: { ageIdentities: [key.identity] } })).rejects.toThrow(
      new NotFoundError(`seed set s1 not found in ${dest.url} (no seeds/s1/SHA256SUMS)`),
    );
  });
});
