import type { Command } from "commander";
import type { RawConfig } from "../config/config.js";

/** Collects a repeatable flag's values (`--recipient a --recipient b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
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
export function flagsToConfig(opts: Record<string, unknown>, destinationFlag?: "to" | "from"): { flags: RawConfig; names: Partial<Record<keyof RawConfig, string>> } {
  const flags: RawConfig = {
    recipients: opts.recipient as string[] | undefined,
    passphraseFile: opts.passphraseFile as string | undefined,
    gpgRecipients: opts.gpgRecipient as string[] | undefined,
    identityFiles: opts.identity as string[] | undefined,
    allowUnencrypted: opts.allowUnencrypted as boolean | undefined,
    compression: opts.compress as string | undefined,
    gzipLevel: opts.gzipLevel as string | undefined,
    zstdLevel: opts.zstdLevel as string | undefined,
    mongodbUri: opts.uri as string | undefined,
  };
  if (destinationFlag) flags.destination = opts[destinationFlag] as string | undefined;
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
