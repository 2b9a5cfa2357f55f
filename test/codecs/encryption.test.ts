// Every encryption scheme runs the codec contract (test/codecs/contract.ts): age to an X25519
// recipient, age with a passphrase, and OpenPGP through the real gpg.
import { readFileSync } from "node:fs";
import { afterAll } from "vitest";
import { createAgeDecryptStream, createAgeEncryptStream, createOpenPgpDecryptStream, createOpenPgpEncryptStream, generateAgeIdentity } from "../../runtime/src/crypto/index.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { Secret } from "../../runtime/src/secret.js";
import { GPG_SKIP, makeGpgKey } from "../support/gpg.js";
import { tempDir } from "../support/paths.js";
import { runCodecContract } from "./contract.js";

// One byte of each part of an age file: the version line, the header MAC, the payload nonce, a
// chunk's body and the last chunk's tag. (A flipped recipient stanza is an AuthError instead: no
// identity unwraps the file key, which age cannot tell from a wrong identity.)
function ageOffsets(encoded: Buffer): number[] {
  const mac = encoded.indexOf("\n--- ") + 5;
  const nonce = encoded.indexOf("\n", mac) + 1;
  return [3, mac, nonce, nonce + 16 + 1000, encoded.length - 1];
}

const x25519 = generateAgeIdentity();
runCodecContract("encryption", "age-x25519", {
  encode: () => createAgeEncryptStream({ recipients: [x25519.recipient] }),
  decode: () => createAgeDecryptStream({ identities: [x25519.identity] }),
  damage: { error: IntegrityError },
  corruptAt: ageOffsets,
});

const passphrase = new Secret("correct horse battery staple, for tests only");
runCodecContract("encryption", "age-scrypt", {
  // Work factor 10 keeps each scrypt to milliseconds; the format is the same at any factor.
  encode: () => createAgeEncryptStream({ passphrase, workFactor: 10 }),
  decode: () => createAgeDecryptStream({ passphrase }),
  damage: { error: IntegrityError },
  corruptAt: ageOffsets,
});

const gpgHome = GPG_SKIP ? undefined : tempDir("codec-gpg");
afterAll(() => gpgHome?.cleanup());
const gpgKey = gpgHome ? makeGpgKey(gpgHome.dir, "codec") : undefined;
runCodecContract("encryption", "openpgp", {
  skip: GPG_SKIP,
  encode: () => createOpenPgpEncryptStream({ publicKeys: readFileSync(gpgKey!.publicKeyFile, "utf8") }),
  decode: () => createOpenPgpDecryptStream({ privateKeyArmored: readFileSync(gpgKey!.secretKeyFile, "utf8") }),
  damage: { error: IntegrityError },
});
