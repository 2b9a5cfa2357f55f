/**
 * OpenPGP against the real gpg, in a throwaway GNUPGHOME with freshly generated keys: what we
 * write decrypts with `gpg --decrypt`, what `gpg --encrypt` writes decrypts with ours, keys load
 * from files and from the keyring, and wrong keys, damage and truncation fail with typed errors
 * and no output.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError, ConfigError, IntegrityError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import {
  createOpenPgpDecryptStream,
  createOpenPgpEncryptStream,
  describeEncryption,
  detectEnvelope,
  loadOpenPgpRecipients,
  openPgpFingerprints,
} from "../../runtime/src/crypto/index.js";
import { tempDir } from "../support/paths.js";
import { hasBinary, runTransform, transformAll } from "./support.js";

const haveGpg = hasBinary("gpg") && hasBinary("gpgconf");
if (!haveGpg) console.warn("test/crypto/openpgp: skipped, gpg is not installed (apt-get install gnupg)");

const KEY_PASS = "pgp passphrase 123";

describe.skipIf(!haveGpg)("OpenPGP through gpg (skipped when gpg is not installed)", () => {
  let tmp: ReturnType<typeof tempDir>;
  let home: string;
  const keys: Record<"plain" | "locked" | "other", { pub: string; sec: string; fpr: string; email: string }> = {} as never;
  const gpg = (args: string[], input?: Buffer | string): Buffer =>
    execFileSync("gpg", ["--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--no-auto-key-locate", ...args], {
      input,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["pipe", "pipe", "ignore"],
    });

  beforeAll(() => {
    tmp = tempDir("pgp");
    home = join(tmp.dir, "gnupg");
    execFileSync("mkdir", ["-m", "700", home]);
    for (const [name, pass] of [["plain", ""], ["locked", KEY_PASS], ["other", ""]] as const) {
      const email = `${name}@cloudsync.test`;
      gpg(["--passphrase", pass, "--quick-gen-key", `Cloudsync ${name} <${email}>`, "future-default", "default", "never"]);
      const fpr = gpg(["--with-colons", "--list-keys", email]).toString().split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
      keys[name] = {
        email,
        fpr,
        pub: gpg(["--armor", "--export", fpr]).toString(),
        sec: gpg(["--passphrase", pass, "--armor", "--export-secret-keys", fpr]).toString(),
      };
    }
  }, 120_000);
  afterAll(() => {
    try {
      execFileSync("gpgconf", ["--homedir", home, "--kill", "all"]);
    } finally {
      tmp.cleanup();
    }
  });

  it("fingerprints read from armored keys match gpg's", () => {
    expect(openPgpFingerprints(keys.plain.pub)).toEqual([keys.plain.fpr]);
    expect(openPgpFingerprints(keys.plain.pub + keys.other.pub)).toEqual([keys.plain.fpr, keys.other.fpr]);
    expect(openPgpFingerprints("not a key")).toEqual([]);
    expect(describeEncryption({ publicKeys: keys.plain.pub })).toEqual({ scheme: "openpgp", recipients: [keys.plain.fpr] });
  });

  for (const size of [0, 1, 100_000, 1024 * 1024 + 7]) {
    it(`ours → gpg --decrypt: ${size} bytes, byte-exact`, async () => {
      const plain = randomBytes(size);
      const enc = await transformAll(createOpenPgpEncryptStream({ publicKeys: keys.plain.pub }), plain);
      expect(detectEnvelope(enc.subarray(0, 64))).toBe("openpgp");
      expect(gpg(["--decrypt"], enc).equals(plain)).toBe(true);
    });
  }

  it("ours to two keys → each decrypts with gpg", async () => {
    const plain = randomBytes(5000);
    const enc = await transformAll(createOpenPgpEncryptStream({ publicKeys: keys.plain.pub + keys.other.pub }), plain);
    const out = execFileSync("gpg", ["--homedir", home, "--batch", "--list-packets"], { input: enc, stdio: ["pipe", "pipe", "pipe"] }).toString();
    expect(out.match(/:pubkey enc packet:/g)).toHaveLength(2);
    expect(gpg(["--decrypt"], enc).equals(plain)).toBe(true);
  });

  for (const armor of [false, true]) {
    it(`gpg --encrypt${armor ? " --armor" : ""} → ours (armored private key), byte-exact`, async () => {
      const plain = randomBytes(300_000);
      const enc = gpg(["--trust-model", "always", ...(armor ? ["--armor"] : []), "--recipient", keys.plain.fpr, "--encrypt"], plain);
      expect(detectEnvelope(enc.subarray(0, 64))).toBe("openpgp");
      const dec = await transformAll(createOpenPgpDecryptStream({ privateKeyArmored: keys.plain.sec }), enc, 7777);
      expect(dec.equals(plain)).toBe(true);
    });
  }

  it("gpg --encrypt → ours with a passphrase-protected key and its passphrase", async () => {
    const plain = randomBytes(20_000);
    const enc = gpg(["--trust-model", "always", "--recipient", keys.locked.fpr, "--encrypt"], plain);
    const dec = await transformAll(createOpenPgpDecryptStream({ privateKeyArmored: keys.locked.sec, passphrase: new Secret(KEY_PASS) }), enc);
    expect(dec.equals(plain)).toBe(true);
  });

  it("useGpgAgent decrypts with the keyring in GNUPGHOME", async () => {
    const plain = randomBytes(10_000);
    const enc = await transformAll(createOpenPgpEncryptStream({ publicKeys: keys.plain.pub }), plain);
    const saved = process.env.GNUPGHOME;
    process.env.GNUPGHOME = home;
    try {
      expect((await transformAll(createOpenPgpDecryptStream({ useGpgAgent: true }), enc)).equals(plain)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.GNUPGHOME;
      else process.env.GNUPGHOME = saved;
    }
  });

  it("loadOpenPgpRecipients: an armored key file, a keyring email and fingerprint; unknown → ConfigError", async () => {
    const file = join(tmp.dir, "plain.asc");
    writeFileSync(file, keys.plain.pub);
    const saved = process.env.GNUPGHOME;
    process.env.GNUPGHOME = home;
    try {
      const loaded = await loadOpenPgpRecipients([file, keys.other.email]);
      expect(loaded.fingerprints).toEqual([keys.plain.fpr, keys.other.fpr]);
      expect(loaded.armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      expect((await loadOpenPgpRecipients([keys.locked.fpr])).fingerprints).toEqual([keys.locked.fpr]);
      const err = await loadOpenPgpRecipients(["nobody@cloudsync.test"]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        'gpgRecipients: "nobody@cloudsync.test" is neither a key file nor a key in your GnuPG keyring (gpg --list-keys); import it with gpg --import or pass the path of its armored public key',
      );
    } finally {
      if (saved === undefined) delete process.env.GNUPGHOME;
      else process.env.GNUPGHOME = saved;
    }
  });

  it("back-pressure: a slow consumer downstream of encrypt and decrypt still gets every byte", async () => {
    const plain = randomBytes(6 * 1024 * 1024);
    const slowCollect = async (source: AsyncIterable<Buffer>): Promise<Buffer> => {
      const parts: Buffer[] = [];
      for await (const c of source) {
        parts.push(c);
        await new Promise((r) => setTimeout(r, 1));
      }
      return Buffer.concat(parts);
    };
    const enc = createOpenPgpEncryptStream({ publicKeys: keys.plain.pub });
    const encOut = slowCollect(enc);
    for (let i = 0; i < plain.length; i += 256 * 1024) if (!enc.write(plain.subarray(i, i + 256 * 1024))) await new Promise((r) => enc.once("drain", r));
    enc.end();
    const ciphertext = await encOut;
    const dec = createOpenPgpDecryptStream({ privateKeyArmored: keys.plain.sec });
    const decOut = slowCollect(dec);
    dec.end(ciphertext);
    expect((await decOut).equals(plain)).toBe(true);
  });

  it("a key text without a public key → ConfigError before anything runs", () => {
    expect(() => createOpenPgpEncryptStream({ publicKeys: "hello" })).toThrow("gpgRecipients: no OpenPGP public key found (expected an armored PUBLIC KEY BLOCK)");
  });

  it("without gpg on PATH → ConfigError(\"gpg\") saying how to install it", async () => {
    const saved = process.env.PATH;
    process.env.PATH = tmp.dir;
    try {
      for (const t of [createOpenPgpEncryptStream({ publicKeys: keys.plain.pub }), createOpenPgpDecryptStream({ useGpgAgent: true })]) {
        const { out, err } = await runTransform(t, Buffer.from("data"));
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).toBe("gpg: the gpg binary was not found; install GnuPG (apt-get install gnupg) to use OpenPGP encryption");
        expect(out.length).toBe(0);
      }
    } finally {
      process.env.PATH = saved;
    }
  });

  describe("failures", () => {
    let enc: Buffer;
    const plain = randomBytes(200_000);
    beforeAll(async () => {
      enc = await transformAll(createOpenPgpEncryptStream({ publicKeys: keys.plain.pub }), plain);
    });

    it("the wrong private key → AuthError, no output, no key material in the error", async () => {
      const { out, err } = await runTransform(createOpenPgpDecryptStream({ privateKeyArmored: keys.other.sec, source: "b.pgp" }), enc);
      expect(err).toBeInstanceOf(AuthError);
      expect(out.length).toBe(0);
      expect((err as Error).message).toBe(
        "openpgp decrypt b.pgp: none of the available OpenPGP secret keys can decrypt this backup; check that --identity (or your gpg keyring) has the key it was encrypted to",
      );
      expect(inspect(err, { depth: 5 })).not.toContain(keys.other.sec.split("\n")[3]);
    });

    it("a wrong passphrase → AuthError, no output, passphrase absent", async () => {
      const lockedEnc = gpg(["--trust-model", "always", "--recipient", keys.locked.fpr, "--encrypt"], plain);
      const { out, err } = await runTransform(createOpenPgpDecryptStream({ privateKeyArmored: keys.locked.sec, passphrase: new Secret("not it") }), lockedEnc);
      expect(err).toBeInstanceOf(AuthError);
      expect(out.length).toBe(0);
      expect((err as Error).message).toBe("openpgp decrypt: wrong or missing passphrase for the OpenPGP key; check the passphrase file");
      expect(inspect(err)).not.toContain("not it");
    });

    it("a flipped byte in the encrypted data → IntegrityError and no plaintext at all", async () => {
      for (const at of [enc.length - 10, Math.floor(enc.length / 2), enc.length - 100_000]) {
        const bad = Buffer.from(enc);
        bad[at]! ^= 0x01;
        const { out, err } = await runTransform(createOpenPgpDecryptStream({ privateKeyArmored: keys.plain.sec }), bad);
        expect(err, `byte ${at}`).toBeInstanceOf(IntegrityError);
        expect(out.length).toBe(0);
      }
    });

    it("truncation and non-OpenPGP input → IntegrityError and no output", async () => {
      for (const bad of [enc.subarray(0, enc.length - 50), enc.subarray(0, 200), Buffer.from("plain text, not OpenPGP\n")]) {
        const { out, err } = await runTransform(createOpenPgpDecryptStream({ privateKeyArmored: keys.plain.sec }), bad);
        expect(err).toBeInstanceOf(IntegrityError);
        expect(out.length).toBe(0);
      }
    });
  });
});
