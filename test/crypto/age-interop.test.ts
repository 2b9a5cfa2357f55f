/**
 * Two-way interoperability with the real `age` and `age-keygen` CLIs: what we write decrypts
 * with `age -d`, what `age` writes (binary and armored, recipients and passphrase) decrypts with
 * ours, and identity files are exchangeable.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import {
  ageRecipientOf,
  createAgeDecryptStream,
  createAgeEncryptStream,
  generateAgeIdentity,
  parseAgeIdentities,
  writeIdentityFile,
} from "../../runtime/src/crypto/index.js";
import { tempDir } from "../support/paths.js";
import { hasBinary, transformAll } from "./support.js";

const haveAge = hasBinary("age") && hasBinary("age-keygen");
const haveScript = hasBinary("script");
if (!haveAge) console.warn("test/crypto/age-interop: skipped, the age and age-keygen CLIs are not installed (apt-get install age)");

const KiB = 1024;
const SIZES = [0, 1, 65535, 65536, 65537, 3 * 64 * KiB, 1024 * KiB + 123];

describe.skipIf(!haveAge)("age CLI interoperability (skipped when age is not installed)", () => {
  let tmp: ReturnType<typeof tempDir>;
  let keyFile: string;
  let identity: Secret;
  let recipient: string;

  beforeAll(async () => {
    tmp = tempDir("age");
    ({ identity, recipient } = generateAgeIdentity());
    keyFile = join(tmp.dir, "ours.key");
    await writeIdentityFile(keyFile, identity, recipient);
  });
  afterAll(() => tmp.cleanup());

  for (const size of SIZES) {
    it(`ours → age -d -i: ${size} bytes, byte-exact`, async () => {
      const plain = randomBytes(size);
      const enc = await transformAll(createAgeEncryptStream({ recipients: [recipient] }), plain);
      const file = join(tmp.dir, `ours-${size}.age`);
      writeFileSync(file, enc);
      const dec = execFileSync("age", ["-d", "-i", keyFile, file], { maxBuffer: 64 * 1024 * 1024 });
      expect(dec.equals(plain)).toBe(true);
      // 16-byte nonce, then one 16-byte tag per started 64 KiB chunk (at least one).
      const chunks = Math.max(1, Math.ceil(size / (64 * KiB)));
      const headerLen = enc.indexOf("\n", enc.indexOf("\n--- ") + 1) + 1;
      expect(enc.length - headerLen).toBe(16 + size + 16 * chunks);
    });

    it(`age -r → ours: ${size} bytes, byte-exact`, async () => {
      const plain = randomBytes(size);
      const enc = execFileSync("age", ["-r", recipient], { input: plain, maxBuffer: 64 * 1024 * 1024 });
      const dec = await transformAll(createAgeDecryptStream({ identities: [identity] }), enc);
      expect(dec.equals(plain)).toBe(true);
    });
  }

  it("age -a (armored) → ours, and armor with CRLF line ends", async () => {
    const plain = randomBytes(200 * KiB);
    const enc = execFileSync("age", ["-a", "-r", recipient], { input: plain });
    expect(enc.subarray(0, 34).toString()).toBe("-----BEGIN AGE ENCRYPTED FILE-----");
    expect((await transformAll(createAgeDecryptStream({ identities: [identity] }), enc, 777)).equals(plain)).toBe(true);
    const crlf = Buffer.from(enc.toString("latin1").replace(/\n/g, "\r\n"), "latin1");
    expect((await transformAll(createAgeDecryptStream({ identities: [identity] }), crlf)).equals(plain)).toBe(true);
  });

  it("several recipients: each identity decrypts with age -d", async () => {
    const other = generateAgeIdentity();
    const otherFile = join(tmp.dir, "other.key");
    writeFileSync(otherFile, `${other.identity.reveal()}\n`);
    const plain = randomBytes(70 * KiB);
    const enc = await transformAll(createAgeEncryptStream({ recipients: [recipient, other.recipient] }), plain);
    const file = join(tmp.dir, "two.age");
    writeFileSync(file, enc);
    expect(execFileSync("age", ["-d", "-i", keyFile, file]).equals(plain)).toBe(true);
    expect(execFileSync("age", ["-d", "-i", otherFile, file]).equals(plain)).toBe(true);
  });

  it("age-keygen identity file parses in ours, gives the same recipient, and decrypts age's output", async () => {
    const file = join(tmp.dir, "keygen.key");
    execFileSync("age-keygen", ["-o", file], { stdio: "ignore" });
    const ids = parseAgeIdentities(readFileSync(file, "utf8"), file);
    expect(ids).toHaveLength(1);
    const theirRecipient = execFileSync("age-keygen", ["-y", file]).toString().trim();
    expect(ageRecipientOf(ids[0]!)).toBe(theirRecipient);
    const plain = randomBytes(1000);
    const enc = execFileSync("age", ["-r", theirRecipient], { input: plain });
    expect((await transformAll(createAgeDecryptStream({ identities: ids }), enc)).equals(plain)).toBe(true);
  });

  it("our identity file has age-keygen's layout, mode 0600, and age-keygen -y reads it", () => {
    const text = readFileSync(keyFile, "utf8");
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lines[1]).toBe(`# public key: ${recipient}`);
    expect(lines[2]).toBe(identity.reveal());
    expect(lines[3]).toBe("");
    expect(lines).toHaveLength(4);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(execFileSync("age-keygen", ["-y", keyFile]).toString().trim()).toBe(recipient);
  });

  it("writeIdentityFile refuses to overwrite an existing file (ConfigError naming the path)", async () => {
    const before = readFileSync(keyFile, "utf8");
    const fresh = generateAgeIdentity();
    const err = await writeIdentityFile(keyFile, fresh.identity, fresh.recipient).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(keyFile);
    expect((err as Error).message).toBe(
      `${keyFile}: already exists; refusing to overwrite an identity file (it may be the only key to existing backups); choose another path`,
    );
    expect(readFileSync(keyFile, "utf8")).toBe(before);
  });

  describe.skipIf(!haveScript)("passphrase (scrypt) mode, age driven through a pty with script(1) since it reads passphrases only from a terminal", () => {
    const pass = "correct horse battery staple";

    it("ours (work factor 10) → age -d with the passphrase", async () => {
      const plain = randomBytes(150 * KiB);
      const enc = await transformAll(createAgeEncryptStream({ passphrase: new Secret(pass), workFactor: 10 }), plain);
      expect(enc.toString("latin1").split("\n")[1]).toMatch(/^-> scrypt [A-Za-z0-9+/]{22} 10$/);
      const inFile = join(tmp.dir, "pass-ours.age");
      const outFile = join(tmp.dir, "pass-ours.out");
      writeFileSync(inFile, enc);
      const r = spawnSync("script", ["-qec", `age -d -o ${outFile} ${inFile}`, "/dev/null"], { input: `${pass}\n`, timeout: 30_000 });
      expect(r.status).toBe(0);
      expect(readFileSync(outFile).equals(plain)).toBe(true);
    });

    it("age -p → ours", async () => {
      const plain = randomBytes(70 * KiB);
      const inFile = join(tmp.dir, "pass-theirs.txt");
      const encFile = join(tmp.dir, "pass-theirs.age");
      writeFileSync(inFile, plain);
      const r = spawnSync("script", ["-qec", `age -p -o ${encFile} ${inFile}`, "/dev/null"], { input: `${pass}\n${pass}\n`, timeout: 30_000 });
      expect(r.status).toBe(0);
      const enc = readFileSync(encFile);
      expect((await transformAll(createAgeDecryptStream({ passphrase: new Secret(pass) }), enc)).equals(plain)).toBe(true);
    });
  });
});
