/** Envelope detection from first bytes, and the manifest description of encryption options. */
import { describe, expect, it } from "vitest";
import { Secret } from "../../runtime/src/secret.js";
import { createAgeEncryptStream, describeEncryption, detectEnvelope, generateAgeIdentity, recipientFingerprint } from "../../runtime/src/crypto/index.js";
import { transformAll } from "./support.js";

describe("detectEnvelope", () => {
  it("recognises our age output, from 64 bytes and from a short prefix", async () => {
    const enc = await transformAll(createAgeEncryptStream({ recipients: [generateAgeIdentity().recipient] }), Buffer.from("x"));
    expect(detectEnvelope(enc.subarray(0, 64))).toBe("age");
    expect(detectEnvelope(enc.subarray(0, 10))).toBe("age");
  });

  it("recognises age armor, also after leading whitespace", () => {
    expect(detectEnvelope(Buffer.from("-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSB"))).toBe("age-armor");
    expect(detectEnvelope(Buffer.from("\n  -----BEGIN AGE ENCRYPTED FILE-----\n"))).toBe("age-armor");
  });

  it("recognises OpenPGP armor and binary session-key packets (old and new headers, tags 1 and 3)", () => {
    expect(detectEnvelope(Buffer.from("-----BEGIN PGP MESSAGE-----\n\nhF4D"))).toBe("openpgp");
    expect(detectEnvelope(Buffer.from([0x84, 0x5e, 0x03, 0x11]))).toBe("openpgp"); // old format, tag 1, PKESK v3
    expect(detectEnvelope(Buffer.from([0xc1, 0x5e, 0x03, 0x11]))).toBe("openpgp"); // new format, tag 1
    expect(detectEnvelope(Buffer.from([0x8c, 0x0d, 0x04, 0x09]))).toBe("openpgp"); // old format, tag 3, SKESK v4
    expect(detectEnvelope(Buffer.from([0xc3, 0x0d, 0x04, 0x09]))).toBe("openpgp"); // new format, tag 3
    expect(detectEnvelope(Buffer.from([0x84, 0x5e, 0x09, 0x11]))).toBe("none"); // unknown PKESK version
    expect(detectEnvelope(Buffer.from([0xcb, 0x0d, 0x62]))).toBe("none"); // literal data: signed/plain, not encrypted
  });

  it("says none for archives, compressed data, text and empty input", () => {
    expect(detectEnvelope(Buffer.from([0x6d, 0xe2, 0x99, 0x81, 0x10, 0, 0, 0]))).toBe("none"); // mongodump archive magic
    expect(detectEnvelope(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toBe("none"); // gzip
    expect(detectEnvelope(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe("none"); // zstd
    expect(detectEnvelope(Buffer.from("hello world"))).toBe("none");
    expect(detectEnvelope(new Uint8Array(0))).toBe("none");
  });
});

describe("describeEncryption", () => {
  it("lists recipient fingerprints only, never keys or passphrases", () => {
    const a = generateAgeIdentity();
    const d = describeEncryption({ recipients: [a.recipient] });
    expect(d).toEqual({ scheme: "age-x25519", recipients: [recipientFingerprint(a.recipient)] });
    expect(d.recipients[0]).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(JSON.stringify(d)).not.toContain(a.recipient);
    const p = describeEncryption({ passphrase: new Secret("hunter2 hunter2") });
    expect(p).toEqual({ scheme: "age-scrypt", recipients: [] });
    expect(describeEncryption(undefined)).toEqual({ scheme: "none", recipients: [] });
  });

  it("recipientFingerprint is stable: sha256 of the recipient string, first 16 hex digits", () => {
    // SHA-256("age1example") computed independently with sha256sum.
    expect(recipientFingerprint("age1example")).toBe("sha256:e37425255c92f8d2");
  });
});
