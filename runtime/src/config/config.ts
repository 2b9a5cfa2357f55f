import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { Secret } from "../secret.js";
import { checkDuration, RETENTION } from "./duration.js";

/** Compression algorithms a backup can use. */
export type CompressionKind = "gzip" | "zstd" | "none";
/** Providers named by the seed's CLOUD_SYNC_PROVIDER. */
export type CloudSyncProvider = "none" | "jeffreysanford" | "s3" | "backblaze" | "gcs";

/**
 * The complete, validated, frozen configuration. Produced only by `loadConfig`; every field has a
 * value or is explicitly optional.
 */
export interface Config {
  /** Where backups go and come from: a path, file:///path or s3://bucket/prefix. */
  readonly destination: string;
  readonly compression: CompressionKind;
  /** gzip level 1–9; 1 by default because compression sets the pipeline's speed limit. */
  readonly gzipLevel: number;
  /** age X25519 recipients (age1…) the backup is encrypted to. */
  readonly recipients: readonly string[];
  /** Files holding age identities (AGE-SECRET-KEY-1…), for decryption. */
  readonly identityFiles: readonly string[];
  /** File holding an age passphrase (scrypt mode), used instead of recipients. */
  readonly passphraseFile?: string;
  /** OpenPGP recipients: armored public key files or key ids/e-mails in the local GnuPG keyring. */
  readonly gpgRecipients: readonly string[];
  /** Allows writing a backup without encryption (local experiments only). */
  readonly allowUnencrypted: boolean;
  readonly s3: {
    readonly endpoint?: string;
    readonly region: string;
    readonly accessKeyId?: string;
    readonly secretAccessKey?: Secret;
    readonly forcePathStyle: boolean;
  };
  /** MongoDB connection string (may hold a password: a Secret). */
  readonly mongodbUri: Secret;
  readonly retention: {
    readonly keepLast?: number;
    readonly keepDaily?: number;
    readonly keepWeekly?: number;
    readonly keepMonthly?: number;
    /** A duration as written (config/duration.ts), already checked against its RETENTION rules. */
    readonly keepWithin: string;
  };
  readonly cloudSync: {
    readonly enabled: boolean;
    readonly provider: CloudSyncProvider;
    readonly endpoint?: string;
    readonly apiKey?: Secret;
    readonly bucket?: string;
  };
}

/**
 * Raw settings as they come from a layer (file, environment, flags): every value optional, not
 * yet validated. Field names are the config-file keys.
 */
export interface RawConfig {
  destination?: string;
  compression?: string;
  gzipLevel?: string | number;
  recipients?: string[] | string;
  identityFiles?: string[] | string;
  passphraseFile?: string;
  gpgRecipients?: string[] | string;
  allowUnencrypted?: boolean | string;
  s3Endpoint?: string;
  s3Region?: string;
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
  s3ForcePathStyle?: boolean | string;
  mongodbUri?: string;
  keepLast?: string | number;
  keepDaily?: string | number;
  keepWeekly?: string | number;
  keepMonthly?: string | number;
  keepWithin?: string;
  cloudSyncEnabled?: boolean | string;
  cloudSyncProvider?: string;
  cloudSyncEndpoint?: string;
  cloudSyncApiKey?: string;
  cloudSyncBucket?: string;
}

/** Environment variables read, mapped to their config keys. Documented in .env.example. */
export const ENVIRONMENT: Readonly<Record<string, keyof RawConfig>> = {
  CLOUDSYNC_DESTINATION: "destination",
  CLOUDSYNC_COMPRESSION: "compression",
  CLOUDSYNC_GZIP_LEVEL: "gzipLevel",
  CLOUDSYNC_RECIPIENTS: "recipients",
  CLOUDSYNC_IDENTITY_FILE: "identityFiles",
  CLOUDSYNC_PASSPHRASE_FILE: "passphraseFile",
  CLOUDSYNC_GPG_RECIPIENTS: "gpgRecipients",
  CLOUDSYNC_ALLOW_UNENCRYPTED: "allowUnencrypted",
  CLOUDSYNC_S3_ENDPOINT: "s3Endpoint",
  AWS_REGION: "s3Region",
  AWS_ACCESS_KEY_ID: "s3AccessKeyId",
  AWS_SECRET_ACCESS_KEY: "s3SecretAccessKey",
  CLOUDSYNC_S3_FORCE_PATH_STYLE: "s3ForcePathStyle",
  MONGODB_URI: "mongodbUri",
  CLOUDSYNC_KEEP_LAST: "keepLast",
  CLOUDSYNC_KEEP_DAILY: "keepDaily",
  CLOUDSYNC_KEEP_WEEKLY: "keepWeekly",
  CLOUDSYNC_KEEP_MONTHLY: "keepMonthly",
  CLOUDSYNC_KEEP_WITHIN: "keepWithin",
  CLOUD_SYNC_ENABLED: "cloudSyncEnabled",
  CLOUD_SYNC_PROVIDER: "cloudSyncProvider",
  CLOUD_SYNC_ENDPOINT: "cloudSyncEndpoint",
  CLOUD_SYNC_API_KEY: "cloudSyncApiKey",
  CLOUD_SYNC_BUCKET: "cloudSyncBucket",
};

const ENV_NAME: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ENVIRONMENT).map(([env, key]) => [key, env]));

/** Built-in defaults: a local, encrypted, gzip level 1 backup to ./backups with 7 days kept. */
export const DEFAULTS: Readonly<RawConfig> = {
  destination: "./backups",
  compression: "gzip",
  gzipLevel: 1,
  allowUnencrypted: false,
  s3Region: "us-east-1",
  s3ForcePathStyle: true,
  mongodbUri: "mongodb://127.0.0.1:27017",
  keepWithin: "7d",
  cloudSyncEnabled: false,
  cloudSyncProvider: "none",
};

const KNOWN_KEYS = new Set<string>([...Object.keys(DEFAULTS), ...Object.values(ENVIRONMENT)]);

/** Where each layer's value came from, so errors can name the setting as the user wrote it. */
type Origin = "default" | "file" | "env" | "flag";

export interface LoadOptions {
  /** Path of a JSON config file; when absent `CLOUDSYNC_CONFIG` or ./cloudsync.config.json (if it exists). */
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags (highest precedence). */
  readonly flags?: RawConfig;
  /** How each flag is spelt on the command line, for error messages (e.g. recipients → "--recipient"). */
  readonly flagNames?: Partial<Record<keyof RawConfig, string>>;
}

/**
 * Loads configuration: defaults < config file < environment < flags; validates every field and
 * returns a frozen Config. Throws ConfigError naming the first invalid field as the user spelt it
 * (flag, variable or file key); the message lists every problem found, so one run shows them all.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const merged: Record<string, unknown> = { ...DEFAULTS };
  const origin: Record<string, Origin> = Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, "default" as Origin]));
  const problems: Array<[string, string]> = [];

  const fileLayer = readConfigFile(options.configFile ?? env.CLOUDSYNC_CONFIG, options.configFile !== undefined || env.CLOUDSYNC_CONFIG !== undefined);
  if (fileLayer) {
    for (const [k, v] of Object.entries(fileLayer.values)) {
      if (!KNOWN_KEYS.has(k)) {
        problems.push([`${fileLayer.path}: ${k}`, `unknown key; known keys: ${[...KNOWN_KEYS].sort().join(", ")}`]);
        continue;
      }
      merged[k] = v;
      origin[k] = "file";
    }
  }
  for (const [name, key] of Object.entries(ENVIRONMENT)) {
    const v = env[name];
    if (v !== undefined && v !== "") {
      merged[key] = v;
      origin[key] = "env";
    }
  }
  for (const [k, v] of Object.entries(options.flags ?? {})) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    merged[k] = v;
    origin[k] = "flag";
  }

  const nameOf = (key: keyof RawConfig): string => {
    switch (origin[key]) {
      case "flag":
        return options.flagNames?.[key] ?? `--${key}`;
      case "env":
        return ENV_NAME[key] ?? key;
      case "file":
        return `${fileLayer?.path ?? "config"}: ${key}`;
      default:
        return ENV_NAME[key] ?? key;
    }
  };
  const fail = (key: keyof RawConfig, msg: string): undefined => {
    problems.push([nameOf(key), msg]);
    return undefined;
  };

  const str = (key: keyof RawConfig): string | undefined => {
    const v = merged[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") return fail(key, `must be a string, got ${typeof v}`);
    return v.trim() === "" ? undefined : v;
  };
  const list = (key: keyof RawConfig): string[] => {
    const v = merged[key];
    if (v === undefined) return [];
    const items = Array.isArray(v) ? v : String(v).split(",");
    return items.map((s) => String(s).trim()).filter((s) => s.length > 0);
  };
  const bool = (key: keyof RawConfig): boolean => {
    const v = merged[key];
    if (typeof v === "boolean") return v;
    const s = String(v).toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off", ""].includes(s)) return false;
    fail(key, `must be true or false, got "${String(v)}"`);
    return false;
  };
  const int = (key: keyof RawConfig, min: number, max: number): number | undefined => {
    const v = merged[key];
    if (v === undefined) return undefined;
    const n = typeof v === "number" ? v : /^\s*\d+\s*$/.test(String(v)) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) return fail(key, `must be a whole number from ${min} to ${max}, got "${String(v)}"`);
    return n;
  };
  const oneOf = <T extends string>(key: keyof RawConfig, allowed: readonly T[]): T => {
    const v = str(key) ?? "";
    if ((allowed as readonly string[]).includes(v)) return v as T;
    fail(key, `must be one of ${allowed.join(", ")}, got "${v}"`);
    return allowed[0] as T;
  };
  const url = (key: keyof RawConfig): string | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== "http:" && u.protocol !== "https:") return fail(key, `must be an http:// or https:// URL, got "${u.protocol}"`);
    } catch {
      return fail(key, `must be a URL such as https://s3.us-west-004.backblazeb2.com, got "${v}"`);
    }
    return v;
  };
  const secret = (key: keyof RawConfig): Secret | undefined => {
    const v = str(key);
    return v === undefined ? undefined : new Secret(v);
  };

  const recipients = list("recipients");
  for (const r of recipients) if (!/^age1[02-9ac-hj-np-z]{58}$/.test(r)) fail("recipients", `"${r}" is not an age X25519 recipient (age1 followed by 58 bech32 characters); create one with \`cloudsync keys new\``);

  const keepWithin = str("keepWithin") ?? "7d";
  const keepWithinCheck = checkDuration(keepWithin, RETENTION);
  if (!keepWithinCheck.ok) fail("keepWithin", keepWithinCheck.problem);

  const mongodbUri = str("mongodbUri") ?? "mongodb://127.0.0.1:27017";
  if (!/^mongodb(\+srv)?:\/\//.test(mongodbUri)) fail("mongodbUri", `must start with mongodb:// or mongodb+srv://`);

  const config: Config = {
    destination: str("destination") ?? "./backups",
    compression: oneOf("compression", ["gzip", "zstd", "none"] as const),
    gzipLevel: int("gzipLevel", 1, 9) ?? 1,
    recipients,
    identityFiles: list("identityFiles"),
    passphraseFile: str("passphraseFile"),
    gpgRecipients: list("gpgRecipients"),
    allowUnencrypted: bool("allowUnencrypted"),
    s3: {
      endpoint: url("s3Endpoint"),
      region: str("s3Region") ?? "us-east-1",
      accessKeyId: str("s3AccessKeyId"),
      secretAccessKey: secret("s3SecretAccessKey"),
      forcePathStyle: bool("s3ForcePathStyle"),
    },
    mongodbUri: new Secret(mongodbUri),
    retention: {
      keepLast: int("keepLast", 1, 100_000),
      keepDaily: int("keepDaily", 0, 100_000),
      keepWeekly: int("keepWeekly", 0, 100_000),
      keepMonthly: int("keepMonthly", 0, 100_000),
      keepWithin,
    },
    cloudSync: {
      enabled: bool("cloudSyncEnabled"),
      provider: oneOf("cloudSyncProvider", ["none", "jeffreysanford", "s3", "backblaze", "gcs"] as const),
      endpoint: url("cloudSyncEndpoint"),
      apiKey: secret("cloudSyncApiKey"),
      bucket: str("cloudSyncBucket"),
    },
  };

  if (config.cloudSync.enabled) {
    if (config.cloudSync.provider === "none") fail("cloudSyncProvider", "CLOUD_SYNC_ENABLED is true but no provider is set; choose jeffreysanford, s3, backblaze or gcs");
    if (config.cloudSync.provider === "jeffreysanford") {
      if (!config.cloudSync.endpoint) fail("cloudSyncEndpoint", "is required when the provider is jeffreysanford (e.g. https://jeffreysanford.us)");
      if (!config.cloudSync.apiKey) fail("cloudSyncApiKey", "is required when the provider is jeffreysanford (the shared secret of the metadata server)");
    }
  }
  if (config.recipients.length > 0 && config.passphraseFile) fail("passphraseFile", "cannot be combined with age recipients; choose public-key (recipients) or passphrase encryption");

  if (problems.length > 0) {
    const [field, first] = problems[0]!;
    const rest = problems.slice(1).map(([f, m]) => `\n  ${f}: ${m}`).join("");
    throw new ConfigError(field, `${first}${rest}`);
  }
  return deepFreeze(config);
}

function readConfigFile(path: string | undefined, explicit: boolean): { path: string; values: Record<string, unknown> } | undefined {
  const p = path ?? "cloudsync.config.json";
  let text: string;
  try {
    text = readFileSync(p, "utf8");
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError("--config", `cannot read ${p}: ${(err as Error).message}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new ConfigError("--config", `${p} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof values !== "object" || values === null || Array.isArray(values)) throw new ConfigError("--config", `${p} must hold a JSON object of settings`);
  return { path: p, values: values as Record<string, unknown> };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !(value instanceof Secret)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
