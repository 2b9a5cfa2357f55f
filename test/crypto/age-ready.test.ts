// encryptorReady: the backup waits for a passphrase's scrypt before reading any block, so scrypt's
// memory and the pipeline's buffers are not held at once.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createAgeEncryptStream, encryptorReady } from "../../runtime/src/crypto/age/encrypt.js";
import { generateAgeIdentity } from "../../runtime/src/crypto/index.js";
import { Secret } from "../../runtime/src/secret.js";

describe("encryptorReady", () => {
  it("resolves for recipients, for a passphrase once scrypt is done, and for any other stream", async () => {
    await expect(encryptorReady(createAgeEncryptStream({ recipients: [generateAgeIdentity().recipient] }))).resolves.toBeUndefined();
    const started = process.hrtime.bigint();
    await expect(encryptorReady(createAgeEncryptStream({ passphrase: new Secret("a long passphrase"), workFactor: 14 }))).resolves.toBeUndefined();
    // 2^14 rounds of scrypt take measurable time: the promise waited for them.
    expect(process.hrtime.bigint() - started).toBeGreaterThan(1_000_000n);
    await expect(encryptorReady(new PassThrough())).resolves.toBeUndefined();
  });
});
