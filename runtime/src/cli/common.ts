import type { Command } from "commander";
import type { Config, RawConfig } from "../config/config.js";
import type { Destination } from "../destinations/destination.js";
import { openDestination } from "../destinations/open.js";
import { parseDuration, RETENTION } from "../config/duration.js";
import type { RetentionPolicy } from "../retention/plan.js";

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
    mongodbUri: "--uri",
    destination: destinationFlag ? `--${destinationFlag}` : "CLOUDSYNC_DESTINATION",
  };
  return { flags, names };
}

/** Opens the configured destination (S3, Azure and GCS settings from the configuration). */
export function destinationOf(config: Config, spec: string = config.destination): Destination {
  return openDestination(
    spec,
    {
      endpoint: config.s3.endpoint,
      region: config.s3.region,
      accessKeyId: config.s3.accessKeyId,
      secretAccessKey: config.s3.secretAccessKey,
      forcePathStyle: config.s3.forcePathStyle,
    },
    { azure: config.azure, gcs: config.gcs },
  );
}

/**
 * The retention policy from the configuration, with the seed's default for keep-within: 7 days
 * for a local directory, 30 days for S3, Azure Blob and GCS, unless the user chose a value. The configuration fills
 * keepWithin with "7d" by default, so an explicit 7d from a file or the environment cannot be
 * told from the default; `explicit` (a flag was given) always wins. `field` names the setting in
 * errors.
 */
export function retentionPolicyOf(config: Config, opts: { explicit: boolean; field: string }): { policy: RetentionPolicy & { keepWithin: number }; keepWithin: string } {
  const r = config.retention;
  const chosen = opts.explicit || r.keepWithin !== "7d";
  const keepWithin = chosen ? r.keepWithin : /^(s3|azblob|gs):\/\//.test(config.destination) ? "30d" : "7d";
  const policy = {
    ...(r.keepLast !== undefined ? { keepLast: r.keepLast } : {}),
    ...(r.keepDaily !== undefined ? { keepDaily: r.keepDaily } : {}),
    ...(r.keepWeekly !== undefined ? { keepWeekly: r.keepWeekly } : {}),
    ...(r.keepMonthly !== undefined ? { keepMonthly: r.keepMonthly } : {}),
    keepWithin: parseDuration(keepWithin, { name: opts.field, ...RETENTION }),
  };
  return { policy, keepWithin };
}
