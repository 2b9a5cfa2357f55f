/**
 * The manifest's description of how a backup is encrypted: the scheme and which keys can open it,
 * as fingerprints only — never a key, a passphrase, or anything derived from a passphrase.
 */
import type { AgeEncryptOptions } from "./age/encrypt.js";
import { recipientFingerprint } from "./age/x25519.js";
import type { OpenPgpEncryptOptions } from "./openpgp/encrypt.js";
import { openPgpFingerprints } from "./openpgp/keys.js";

/** How a backup is encrypted: age to X25519 recipients, age with a passphrase, OpenPGP, or not at all. */
export type EncryptionScheme = "age-x25519" | "age-scrypt" | "openpgp" | "none";

/** Encryption as recorded in a manifest. */
export interface EncryptionDescription {
  readonly scheme: EncryptionScheme;
  /**
   * age X25519: `recipientFingerprint` of each "age1…" recipient ("sha256:" + 16 hex).
   * OpenPGP: each primary key's fingerprint (upper-case hex, as `gpg --fingerprint` shows it).
   * Passphrase and none: empty.
   */
  readonly recipients: string[];
}

/** Describes encryption options (undefined or null: unencrypted). Pure; never throws. */
export function describeEncryption(opts: AgeEncryptOptions | OpenPgpEncryptOptions | null | undefined): EncryptionDescription {
  if (!opts) return { scheme: "none", recipients: [] };
  if ("recipients" in opts) return { scheme: "age-x25519", recipients: opts.recipients.map(recipientFingerprint) };
  if ("passphrase" in opts) return { scheme: "age-scrypt", recipients: [] };
  return { scheme: "openpgp", recipients: openPgpFingerprints(opts.publicKeys) };
}
