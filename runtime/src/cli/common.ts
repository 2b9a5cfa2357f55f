import type { Command } from "commander";
import type { RawConfig } from "../config/config.js";

/** Collects a repeatable flag's values (`--recipient a --recipient b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The values of the flags `addEncryptionFlags` adds. */
export interface EncryptionFlagOptions {
  readonly recipient: string[];
  readonly passphraseFile?: string;
  readonly gpgRecipient: string[];
  readonly allowUnencrypted?: boolean;
}

/** The values of the flags `addDecryptionFlags` adds. */
export interface DecryptionFlagOptions {
  readonly identity: string[];
  readonly passphraseFile?: string;
}

/** The shared flags `flagsToConfig` reads; a command passes its options, which declare some of them. */
export interface ConfigFlagOptions extends Partial<EncryptionFlagOptions>, Partial<DecryptionFlagOptions> {
  readonly compress?: string;
  readonly gzipLevel?: string;
  readonly zstdLevel?: string;
  readonly uri?: string;
  readonly to?: string;
  readonly from?: string;
}

/** Adds the encryption flags shared by commands that write backups. */
export function addEncryptionFlags(cmd: Command): Command {
  return cmd
    .option("-r, --recipient <age1…>", "age X25519 recipient to encrypt to (repeatable); make one with `cloudsync keys new`", collect, [])
    .option("--passphrase-file <file>", "encrypt with an age passphrase (scrypt) read from the first line of this file")
    .option("--gpg-recipient <key>", "encrypt with OpenPGP to this armored public key file, or key id/e-mail in your GnuPG keyring (repeatable)", collect, [])
    .option("--allow-unencrypted", "write an unencrypted backup (local experiments only)");
}

/** Adds the decryption flags shared by commands that read backups. */
export function addDecryptionFlags(cmd: Command): Command {
  return cmd
    .option("-i, --identity <file>", "age identity file (or armored OpenPGP private key) for decryption (repeatable)", collect, [])
    .option("--passphrase-file <file>", "decrypt an age passphrase-encrypted backup with the passphrase in this file");
}

/** Config-layer values from the shared flags, with their spellings for error messages. */
export function flagsToConfig(opts: ConfigFlagOptions, destinationFlag?: "to" | "from"): { flags: RawConfig; names: Partial<Record<keyof RawConfig, string>> } {
  const flags: RawConfig = {
    recipients: opts.recipient,
    passphraseFile: opts.passphraseFile,
    gpgRecipients: opts.gpgRecipient,
    identityFiles: opts.identity,
    allowUnencrypted: opts.allowUnencrypted,
    compression: opts.compress,
    gzipLevel: opts.gzipLevel,
    zstdLevel: opts.zstdLevel,
    mongodbUri: opts.uri,
  };
  if (destinationFlag) flags.destination = opts[destinationFlag];
  const names: Partial<Record<keyof RawConfig, string>> = {
    recipients: "--recipient",
    passphraseFile: "--passphrase-file",
    gpgRecipients: "--gpg-recipient",
    identityFiles: "--identity",
    allowUnencrypted: "--allow-unencrypted",
    compression: "--compress",
    gzipLevel: "--gzip-level",
    zstdLevel: "--zstd-level",
    mongodbUri: "--uri",
    destination: destinationFlag ? `--${destinationFlag}` : "CLOUDSYNC_DESTINATION",
  };
  return { flags, names };
}
