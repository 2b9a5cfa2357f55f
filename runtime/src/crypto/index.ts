/**
 * cloudsync's encryption: age (X25519 recipients or scrypt passphrase) implemented over
 * node:crypto, and OpenPGP through the `gpg` binary. See each module for its contract.
 */
export { createAgeEncryptStream, type AgeEncryptOptions } from "./age/encrypt.js";
export { createAgeDecryptStream, type AgeDecryptOptions } from "./age/decrypt.js";
export { generateAgeIdentity, ageRecipientOf, recipientFingerprint } from "./age/x25519.js";
export { parseAgeIdentities, writeIdentityFile } from "./age/identity-file.js";
export { DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR } from "./age/scrypt.js";
export { detectEnvelope, type Envelope } from "./detect.js";
export { createOpenPgpEncryptStream, type OpenPgpEncryptOptions } from "./openpgp/encrypt.js";
export { createOpenPgpDecryptStream, type OpenPgpDecryptOptions } from "./openpgp/decrypt.js";
export { loadOpenPgpRecipients, openPgpFingerprints, type OpenPgpRecipients } from "./openpgp/keys.js";
export { describeEncryption, type EncryptionDescription } from "./describe.js";
