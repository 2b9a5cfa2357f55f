import { readFile } from "node:fs/promises";
import type { Transform } from "node:stream";
import type { Config } from "../config/config.js";
import { AuthError, ConfigError } from "../errors.js";
import { Secret } from "../secret.js";
import {
  createAgeDecryptStream,
  createAgeEncryptStream,
  createOpenPgpDecryptStream,
  createOpenPgpEncryptStream,
  loadOpenPgpRecipients,
  parseAgeIdentities,
  recipientFingerprint,
} from "../crypto/index.js";
import type { BackupManifest } from "../manifest/manifest.js";

/** How a backup will be encrypted: the manifest's description plus a factory for the stream. */
export interface EncryptionPlan {
  readonly manifest: BackupManifest["encryption"];
  /** A fresh encrypting Transform, or undefined for unencrypted backups. */
  create(): Transform | undefined;
}

/**
 * Chooses the encryption of a backup from the configuration: age recipients, an age passphrase
 * file, OpenPGP recipients, or (only with allowUnencrypted) none. Reads key material now, so a
 * bad key fails before any data moves. Throws ConfigError naming the config key to fix
 * (`recipients`, `passphraseFile`, `gpgRecipients`); the CLI renames it to the flag or variable.
 */
export async function planEncryption(config: Config): Promise<EncryptionPlan> {
  const modes = [config.recipients.length > 0, config.passphraseFile !== undefined, config.gpgRecipients.length > 0].filter(Boolean).length;
  if (modes > 1) throw new ConfigError("recipients", "choose one encryption: age recipients (recipients, --recipient), an age passphrase (passphraseFile, --passphrase-file) or OpenPGP (gpgRecipients, --gpg-recipient)");
  if (config.recipients.length > 0) {
    const recipients = [...config.recipients];
    return {
      manifest: { scheme: "age-x25519", recipients: recipients.map(recipientFingerprint) },
      create: () => createAgeEncryptStream({ recipients }),
    };
  }
  if (config.passphraseFile !== undefined) {
    const passphrase = await readPassphrase(config.passphraseFile);
    return { manifest: { scheme: "age-scrypt", recipients: [] }, create: () => createAgeEncryptStream({ passphrase }) };
  }
  if (config.gpgRecipients.length > 0) {
    const keys = await loadOpenPgpRecipients([...config.gpgRecipients]);
    return {
      manifest: { scheme: "openpgp", recipients: keys.fingerprints },
      create: () => createOpenPgpEncryptStream({ publicKeys: keys.armored }),
    };
  }
  if (!config.allowUnencrypted) {
    throw new ConfigError(
      "recipients",
      "no encryption key given: set age recipients (recipients, --recipient age1…; create one with `cloudsync keys new`), a passphrase file (passphraseFile, --passphrase-file FILE) or OpenPGP recipients (gpgRecipients, --gpg-recipient KEY); or allowUnencrypted (--allow-unencrypted) for a local experiment",
    );
  }
  return { manifest: { scheme: "none", recipients: [] }, create: () => undefined };
}

/** Reads a passphrase file: its first line, which must not be empty. Throws ConfigError("passphraseFile") otherwise. */
export async function readPassphrase(path: string): Promise<Secret> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError("passphraseFile", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const line = text.split(/\r?\n/)[0] ?? "";
  if (line.length === 0) throw new ConfigError("passphraseFile", `${path} is empty; put the passphrase on its first line`);
  return new Secret(line);
}

/** Key material for decryption, loaded from the configuration. */
export interface DecryptionKeys {
  readonly ageIdentities: Secret[];
  readonly passphrase?: Secret;
  readonly openPgpPrivateKey?: Secret;
  readonly openPgpPassphrase?: Secret;
}

/** Loads identity files and the passphrase file named in the configuration. Throws ConfigError("identityFiles" or "passphraseFile") for one that cannot be read. */
export async function loadDecryptionKeys(config: Config, extra: { gpgKeyFile?: string } = {}): Promise<DecryptionKeys> {
  const ageIdentities: Secret[] = [];
  let openPgpPrivateKey: Secret | undefined;
  for (const file of config.identityFiles) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError("identityFiles", `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (text.includes("-----BEGIN PGP PRIVATE KEY BLOCK-----")) openPgpPrivateKey = new Secret(text);
    else ageIdentities.push(...parseAgeIdentities(text, file));
  }
  if (extra.gpgKeyFile) openPgpPrivateKey = new Secret(await readFile(extra.gpgKeyFile, "utf8"));
  const passphrase = config.passphraseFile !== undefined ? await readPassphrase(config.passphraseFile) : undefined;
  return { ageIdentities, passphrase, openPgpPrivateKey, openPgpPassphrase: passphrase };
}

/**
 * A decrypting Transform for the envelope detected from the data's first bytes. Throws AuthError
 * saying which flag is missing when no suitable key was given.
 */
export function createDecryptor(envelope: "age" | "age-armor" | "openpgp", keys: DecryptionKeys): Transform {
  if (envelope === "openpgp") {
    if (keys.openPgpPrivateKey) return createOpenPgpDecryptStream({ privateKeyArmored: keys.openPgpPrivateKey.reveal(), passphrase: keys.openPgpPassphrase });
    return createOpenPgpDecryptStream({ useGpgAgent: true });
  }
  if (keys.ageIdentities.length > 0) return createAgeDecryptStream({ identities: keys.ageIdentities });
  if (keys.passphrase) return createAgeDecryptStream({ passphrase: keys.passphrase });
  throw new AuthError("the data is age-encrypted: pass --identity FILE (the file `cloudsync keys new` wrote) or --passphrase-file FILE");
}
