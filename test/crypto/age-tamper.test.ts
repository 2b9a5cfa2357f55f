/**
 * Tamper tests for the age decryptor: one flipped byte in each part of the file, truncation,
 * reordering, duplication and appended junk must each fail with IntegrityError, and no
 * plaintext of a chunk that failed may be emitted. Wrong keys fail with AuthError and no output.
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthError, ConfigError, IntegrityError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import { createAgeDecryptStream, createAgeEncryptStream, generateAgeIdentity, parseAgeIdentities } from "../../runtime/src/crypto/index.js";
import { encodeHeader } from "../../runtime/src/crypto/age/header.js";
import { createChunkCipher, payloadKey, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE } from "../../runtime/src/crypto/age/stream.js";
import { parseRecipient, x25519Stanza } from "../../runtime/src/crypto/age/x25519.js";
import { pseudoRandom, runTransform, transformAll } from "./support.js";

const PLAIN = pseudoRandom(3 * CHUNK_SIZE + 1000, 7);
const CHUNKS = 4;

describe("age decryption rejects tampering", () => {
  const { identity, recipient } = generateAgeIdentity();
  let enc: Buffer;
  let headerEnd: number;
  let macLineStart: number;
  let payloadStart: number;
  const chunkStart = (k: number): number => payloadStart + k * ENCRYPTED_CHUNK_SIZE;
  const chunkEnd = (k: number): number => Math.min(chunkStart(k) + ENCRYPTED_CHUNK_SIZE, enc.length);

  beforeAll(async () => {
    enc = await transformAll(createAgeEncryptStream({ recipients: [recipient] }), PLAIN);
    macLineStart = enc.indexOf("\n--- ") + 1;
    headerEnd = enc.indexOf("\n", macLineStart) + 1;
    payloadStart = headerEnd + 16;
    expect(enc.length).toBe(payloadStart + PLAIN.length + 16 * CHUNKS);
  });

  const decrypt = (data: Buffer, piece?: number) => runTransform(createAgeDecryptStream({ identities: [identity], source: "t.age" }), data, piece);
  const flip = (at: number, mask = 0x01): Buffer => {
    const copy = Buffer.from(enc);
    copy[at]! ^= mask;
    return copy;
  };
  /** Decrypts and expects IntegrityError with at most `maxPlain` verified plaintext bytes emitted. */
  const expectIntegrity = async (data: Buffer, maxPlain: number, piece?: number): Promise<IntegrityError> => {
    const { out, err } = await decrypt(data, piece);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(out.length).toBeLessThanOrEqual(maxPlain);
    expect(out.equals(PLAIN.subarray(0, out.length))).toBe(true);
    return err as IntegrityError;
  };

  it("untampered file decrypts (fed in odd-sized pieces and in one piece)", async () => {
    expect((await decrypt(enc, 4099)).out.equals(PLAIN)).toBe(true);
    expect((await decrypt(enc, enc.length)).out.equals(PLAIN)).toBe(true);
  });

  it("a flipped byte anywhere before the MAC line fails (integrity, or auth when a stanza no longer unwraps), with no output", async () => {
    for (let at = 0; at < macLineStart; at++) {
      if (enc[at] === 0x0a) continue;
      const { out, err } = await decrypt(flip(at));
      expect(out.length, `byte ${at}`).toBe(0);
      expect(err instanceof IntegrityError || err instanceof AuthError, `byte ${at}: ${String(err)}`).toBe(true);
    }
  });

  it("a flipped version-line byte is an integrity error saying it is not age", async () => {
    const err = await expectIntegrity(flip(3), 0);
    expect(err.message).toBe("age decrypt t.age: not an age file (no age-encryption.org/v1 header)");
  });

  it("every altered header MAC character fails with IntegrityError and no output", async () => {
    for (let at = macLineStart + 4; at < headerEnd - 1; at++) {
      const copy = Buffer.from(enc);
      copy[at] = copy[at] === 0x41 ? 0x42 : 0x41;
      const err = await expectIntegrity(copy, 0);
      expect(err.message).toMatch(/^age decrypt t\.age: (age header MAC mismatch: the header was altered|malformed age header \(MAC is not 32 bytes of canonical base64\); the file is damaged or not an age file)$/);
    }
    // A mid-MAC character replaced by another base64 letter (a flipped bit can leave the alphabet,
    // '/' ^ 0x02 is '-', and the header is then malformed rather than forged).
    const forged = Buffer.from(enc);
    forged[macLineStart + 10] = forged[macLineStart + 10] === 0x41 ? 0x42 : 0x41;
    const err = await expectIntegrity(forged, 0);
    expect(err.message).toBe("age decrypt t.age: age header MAC mismatch: the header was altered");
  });

  it("a flipped nonce byte fails at chunk 0 with no output", async () => {
    for (const at of [headerEnd, headerEnd + 15]) {
      const err = await expectIntegrity(flip(at), 0);
      expect(err.message).toBe("age decrypt t.age: chunk 0 failed authentication: the file was altered, or chunks were reordered or duplicated");
    }
  });

  it("a flipped byte in each chunk's body and in each tag fails, emitting only earlier chunks", async () => {
    for (let k = 0; k < CHUNKS; k++) {
      for (const at of [chunkStart(k), chunkStart(k) + 5000 > chunkEnd(k) - 17 ? chunkStart(k) + 1 : chunkStart(k) + 5000, chunkEnd(k) - 17, chunkEnd(k) - 16, chunkEnd(k) - 1]) {
        const err = await expectIntegrity(flip(at, 0x80), k * CHUNK_SIZE);
        expect(err.message).toContain(`chunk ${k}`);
      }
    }
  });

  it("truncation at each chunk boundary (last chunk missing) fails", async () => {
    for (let k = 1; k < CHUNKS; k++) {
      const err = await expectIntegrity(enc.subarray(0, chunkStart(k)), (k - 1) * CHUNK_SIZE);
      expect(err.message).toBe(
        `age decrypt t.age: chunk ${k - 1} (final) failed authentication: the file was altered, truncated at a chunk boundary, or has bytes appended`,
      );
    }
  });

  it("truncation after the nonce, inside the header, mid-chunk and inside a tag fails", async () => {
    expect((await expectIntegrity(enc.subarray(0, payloadStart), 0)).message).toBe("age decrypt t.age: truncated: chunk 0 is shorter than its authentication tag");
    expect((await expectIntegrity(enc.subarray(0, headerEnd + 5), 0)).message).toBe("age decrypt t.age: truncated inside the age header");
    expect((await expectIntegrity(enc.subarray(0, 40), 0)).message).toBe("age decrypt t.age: truncated inside the age header");
    expect((await expectIntegrity(Buffer.alloc(0), 0)).message).toBe("age decrypt t.age: empty input: not an age file");
    await expectIntegrity(enc.subarray(0, chunkStart(2) + 100), 2 * CHUNK_SIZE);
    await expectIntegrity(enc.subarray(0, enc.length - 1), 3 * CHUNK_SIZE);
  });

  it("a file whose plaintext is a whole number of chunks, cut after the second-last chunk, fails", async () => {
    const plain = pseudoRandom(2 * CHUNK_SIZE, 3);
    const e = await transformAll(createAgeEncryptStream({ recipients: [recipient] }), plain);
    const start = e.length - 2 * ENCRYPTED_CHUNK_SIZE;
    const { out, err } = await decrypt(e.subarray(0, start + ENCRYPTED_CHUNK_SIZE));
    expect(err).toBeInstanceOf(IntegrityError);
    expect(out.length).toBe(0);
  });

  it("swapped chunks fail at the first swapped chunk", async () => {
    const swapped = Buffer.concat([enc.subarray(0, chunkStart(0)), enc.subarray(chunkStart(1), chunkEnd(1)), enc.subarray(chunkStart(0), chunkEnd(0)), enc.subarray(chunkStart(2))]);
    expect((await expectIntegrity(swapped, 0)).message).toContain("chunk 0 failed authentication");
    const swapped12 = Buffer.concat([enc.subarray(0, chunkStart(1)), enc.subarray(chunkStart(2), chunkEnd(2)), enc.subarray(chunkStart(1), chunkEnd(1)), enc.subarray(chunkStart(3))]);
    expect((await expectIntegrity(swapped12, CHUNK_SIZE)).message).toContain("chunk 1 failed authentication");
  });

  it("a duplicated chunk fails", async () => {
    const dup = Buffer.concat([enc.subarray(0, chunkEnd(1)), enc.subarray(chunkStart(1), chunkEnd(1)), enc.subarray(chunkStart(2))]);
    expect((await expectIntegrity(dup, 2 * CHUNK_SIZE)).message).toContain("chunk 2 failed authentication");
  });

  it("appended junk fails (1 byte, 16 bytes, a whole chunk's worth)", async () => {
    for (const junk of [Buffer.from([0]), randomBytes(16), randomBytes(ENCRYPTED_CHUNK_SIZE)]) {
      const err = await expectIntegrity(Buffer.concat([enc, junk]), 3 * CHUNK_SIZE);
      expect(err.message).toMatch(/chunk [34]/);
    }
  });

  it("appended junk after a file of whole chunks fails at its full final chunk", async () => {
    const plain = pseudoRandom(CHUNK_SIZE, 4);
    const e = await transformAll(createAgeEncryptStream({ recipients: [recipient] }), plain);
    const { out, err } = await decrypt(Buffer.concat([e, Buffer.from("x")]));
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toBe("age decrypt t.age: chunk 0 failed authentication: the file was altered, or chunks were reordered or duplicated");
    expect(out.length).toBe(0);
  });

  it("an empty last chunk after a full chunk is rejected (spec: only an empty payload has an empty chunk)", async () => {
    const fileKey = randomBytes(16);
    const header = encodeHeader(fileKey, [x25519Stanza(fileKey, parseRecipient(recipient), recipient)]);
    const nonce = randomBytes(16);
    const c = createChunkCipher(payloadKey(fileKey, nonce));
    const full = pseudoRandom(CHUNK_SIZE, 9);
    const crafted = Buffer.concat([header, nonce, ...c.seal(full, false), ...c.seal(Buffer.alloc(0), true)]);
    const { out, err } = await decrypt(crafted);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toBe("age decrypt t.age: chunk 1: an empty last chunk is only valid for an empty payload");
    expect(out.equals(full) || out.length === 0).toBe(true);
  });
});

describe("age decryption with the wrong key", () => {
  const right = generateAgeIdentity();
  const wrong = generateAgeIdentity();
  const plain = randomBytes(100_000);

  it("wrong identity → AuthError, no output, no key material in the message or inspect output", async () => {
    const enc = await transformAll(createAgeEncryptStream({ recipients: [right.recipient] }), plain);
    const { out, err } = await runTransform(createAgeDecryptStream({ identities: [wrong.identity], source: "backups/x.age" }), enc);
    expect(err).toBeInstanceOf(AuthError);
    expect(out.length).toBe(0);
    expect((err as Error).message).toBe(
      "age decrypt backups/x.age: none of the 1 given identities matches the file's 1 recipient (or the header was altered); check that --identity is the key this backup was encrypted to",
    );
    for (const text of [(err as Error).message, inspect(err, { depth: 5 }), JSON.stringify(err)]) {
      expect(text).not.toContain(wrong.identity.reveal());
      expect(text).not.toContain(right.identity.reveal());
    }
  });

  it("wrong passphrase → AuthError, no output, passphrase absent from the error", async () => {
    const enc = await transformAll(createAgeEncryptStream({ passphrase: new Secret("the right one"), workFactor: 8 }), plain);
    const { out, err } = await runTransform(createAgeDecryptStream({ passphrase: new Secret("the wrong one") }), enc);
    expect(err).toBeInstanceOf(AuthError);
    expect(out.length).toBe(0);
    expect((err as Error).message).toBe("age decrypt: wrong passphrase (or the header was altered); check the passphrase file");
    expect(inspect(err)).not.toContain("the wrong one");
    expect(inspect(err)).not.toContain("the right one");
    const ok = await transformAll(createAgeDecryptStream({ passphrase: new Secret("the right one") }), enc);
    expect(ok.equals(plain)).toBe(true);
  });

  it("a passphrase for a recipient-encrypted file, and an identity for a passphrase file → AuthError saying which key to use", async () => {
    const encR = await transformAll(createAgeEncryptStream({ recipients: [right.recipient] }), plain);
    const r1 = await runTransform(createAgeDecryptStream({ passphrase: new Secret("pw") }), encR);
    expect(r1.err).toBeInstanceOf(AuthError);
    expect((r1.err as Error).message).toBe("age decrypt: the file is encrypted to age recipients, not a passphrase; decrypt it with the identity file instead");
    const encP = await transformAll(createAgeEncryptStream({ passphrase: new Secret("pw"), workFactor: 4 }), plain);
    const r2 = await runTransform(createAgeDecryptStream({ identities: [right.identity] }), encP);
    expect(r2.err).toBeInstanceOf(AuthError);
    expect((r2.err as Error).message).toBe("age decrypt: the file is passphrase-encrypted; decrypt it with the passphrase instead of an identity");
    expect(r1.out.length + r2.out.length).toBe(0);
  });
});

describe("age key validation", () => {
  it("a bad recipient is a ConfigError naming it, thrown before any data flows", () => {
    const good = generateAgeIdentity().recipient;
    const bad = `${good.slice(0, -1)}${good.endsWith("q") ? "p" : "q"}`;
    expect(() => createAgeEncryptStream({ recipients: [good, bad] })).toThrow(ConfigError);
    expect(() => createAgeEncryptStream({ recipients: [good, bad] })).toThrow(
      `recipient: "${bad}" is not an age X25519 recipient (expected age1… as printed by age-keygen or cloudsync keys new)`,
    );
    expect(() => createAgeEncryptStream({ recipients: [] })).toThrow("recipients: at least one age recipient (age1…) is required");
    expect(() => createAgeEncryptStream({ recipients: [good.toUpperCase()] })).toThrow(ConfigError);
    expect(() => createAgeEncryptStream({ passphrase: new Secret("x"), workFactor: 23 })).toThrow(
      "workFactor: must be an integer from 1 to 22 (age's default is 18), got 23",
    );
  });

  it("a damaged identity never appears in the error", () => {
    const { identity } = generateAgeIdentity();
    const damaged = `${identity.reveal().slice(0, -2)}QQ`;
    const text = `# a comment\n\n${damaged}\n`;
    let caught: unknown;
    try {
      parseAgeIdentities(text, "/keys/backup.key");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(
      "/keys/backup.key: line 3 is not an age X25519 identity (expected AGE-SECRET-KEY-1…; SSH and plugin keys are not supported)",
    );
    expect(inspect(caught, { depth: 5 })).not.toContain(damaged.slice(20, 60));
    let caught2: unknown;
    try {
      createAgeDecryptStream({ identities: [new Secret(damaged)] });
    } catch (err) {
      caught2 = err;
    }
    expect(caught2).toBeInstanceOf(ConfigError);
    expect(inspect(caught2, { depth: 5 })).not.toContain(damaged.slice(20, 60));
    expect(() => parseAgeIdentities("# only comments\n", "k.txt")).toThrow("k.txt: contains no age identity (AGE-SECRET-KEY-1… line); is this the right file?");
  });

  it("identity files with CRLF line ends and several keys parse", () => {
    const a = generateAgeIdentity();
    const b = generateAgeIdentity();
    const ids = parseAgeIdentities(`# created: x\r\n${a.identity.reveal()}\r\n\r\n${b.identity.reveal()}\r\n`, "k");
    expect(ids.map((s) => s.reveal())).toEqual([a.identity.reveal(), b.identity.reveal()]);
    expect(String(ids[0])).toBe("**redacted**");
  });
});

describe("age armor decoding", () => {
  const { identity, recipient } = generateAgeIdentity();
  const plain = pseudoRandom(100_000, 11);
  /** The age armor layout (padded base64, 64 columns) built directly, independent of the decoder. */
  const armor = (bin: Buffer): string => `-----BEGIN AGE ENCRYPTED FILE-----\n${(bin.toString("base64").match(/.{1,64}/g) ?? []).join("\n")}\n-----END AGE ENCRYPTED FILE-----\n`;
  const decrypt = (text: string) => runTransform(createAgeDecryptStream({ identities: [identity] }), Buffer.from(text, "latin1"), 333);

  it("decodes armor with surrounding whitespace", async () => {
    const bin = await transformAll(createAgeEncryptStream({ recipients: [recipient] }), plain);
    const { out, err } = await decrypt(`\n\n  ${armor(bin)}\n  \n`);
    expect(err).toBeUndefined();
    expect(out.equals(plain)).toBe(true);
  });

  it("rejects a missing END line, data after END, long lines and a flipped base64 character", async () => {
    const bin = await transformAll(createAgeEncryptStream({ recipients: [recipient] }), plain);
    const text = armor(bin);
    const cases: [string, string][] = [
      [text.replace("-----END AGE ENCRYPTED FILE-----\n", ""), "age decrypt: malformed age armor (missing END line; the file is truncated)"],
      [`${text}junk\n`, "age decrypt: malformed age armor (data after the END line)"],
      [text.replace("\n", "\nAAAA"), "age decrypt: malformed age armor (line longer than 64 columns)"],
    ];
    for (const [bad, message] of cases) {
      const { out, err } = await decrypt(bad);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toBe(message);
      expect(out.length).toBeLessThanOrEqual(CHUNK_SIZE);
    }
    const at = text.length - 200;
    const flipped = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    const { out, err } = await decrypt(flipped);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(out.length).toBeLessThanOrEqual(CHUNK_SIZE);
  });
});
