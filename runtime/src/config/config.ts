import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { COMPRESSIONS, type Compression } from "../compression/kinds.js";
import { ConfigError } from "../errors.js";
import { containsAgeSecretKey, Secret, SECRET_KEY_NOT_RECIPIENT } from "../secret.js";
import { parseCron } from "./cron.js";
import { checkDuration, RETENTION } from "./duration.js";

/** Providers named by the seed's CLOUD_SYNC_PROVIDER. */
export type CloudSyncProvider = "none" | "jeffreysanford" | "s3" | "backblaze" | "gcs";

/**
 * The complete, validated, frozen configuration. Produced only by `loadConfig`; every field has a
 * value or is explicitly optional.
 */
export interface Config {
  /** Where backups go and come from: a path, file:///path or s3://bucket/prefix. */
  readonly destination: string;
  readonly compression: Compression;
  /** gzip level 1–9; 1 by default because compression sets the pipeline's speed limit. */
  readonly gzipLevel: number;
  /** zstd level 1–19; 1 by default, for the same reason. */
  readonly zstdLevel: number;
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
  /** Azure Blob Storage credentials for azblob:// destinations: a connection string, or an account with a key or a SAS token. */
  readonly azure: {
    readonly connectionString?: Secret;
    readonly account?: string;
    readonly accountKey?: Secret;
    readonly sasToken?: Secret;
    /** Blob service URL; default https://<account>.blob.core.windows.net. */
    readonly endpoint?: string;
  };
  /** Google Cloud Storage settings for gs:// destinations. */
  readonly gcs: {
    /** Service-account key file; when absent, Application Default Credentials. */
    readonly keyFile?: string;
    /** JSON API endpoint of an emulator; default Google's. */
    readonly endpoint?: string;
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
  /** The settings of `cloudsync daemon` (and the state directory `cloudsync status` reads). */
  readonly daemon: {
    /** Five-field cron expression in UTC, already checked by `parseCron`. */
    readonly schedule: string;
    /** Random delay added to each scheduled run: the duration as written, and in milliseconds. */
    readonly jitter: string;
    readonly jitterMs: number;
    /** status.json, metrics.prom and the lock; default `$XDG_STATE_HOME/cloudsync` ({@link stateHome}). */
    readonly stateDir: string;
    /** Port (0–65535) and address /metrics is served on. */
    readonly metricsPort: number;
    readonly metricsHost: string;
    /** POSTed after each successful run (http or https); a secret, since such URLs carry a token. */
    readonly heartbeatUrl?: Secret;
    /** Prefix under s3://cloudSyncBucket/ that the daemon copies backups to; no leading or trailing slash. */
    readonly cloudPrefix: string;
    /** Follow the oplog into the destination beside the schedule (`daemon --oplog-follow`); its backups are then made with --oplog. */
    readonly oplogFollow: boolean;
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
  zstdLevel?: string | number;
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
  azureConnectionString?: string;
  azureAccount?: string;
  azureAccountKey?: string;
  azureSasToken?: string;
  azureEndpoint?: string;
  gcsKeyFile?: string;
  gcsEndpoint?: string;
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
  schedule?: string;
  jitter?: string;
  stateDir?: string;
  metricsPort?: string | number;
  metricsHost?: string;
  heartbeatUrl?: string;
  cloudPrefix?: string;
  oplogFollow?: boolean | string;
}

/** Who reads an environment variable: the configuration below, a command, a script, or the test suite. */
export type VariableReader = "config" | "daemon" | "status" | "metadata server" | "scripts" | "tests";

/**
 * Every environment variable of cloudsync (`CLOUDSYNC_*`, `CLOUD_SYNC_*` and the few standard
 * ones it reads), with its config key when it is a setting of `loadConfig`. The single list:
 * `ENVIRONMENT` is derived from it, and so are the names `unknownVariableWarnings` accepts.
 * Settings are documented in .env.example; test/config/variables.test.ts checks that every
 * name used in the repository is here.
 */
export const VARIABLES: Readonly<Record<string, { readonly key?: keyof RawConfig; readonly readBy: VariableReader }>> = {
  CLOUDSYNC_DESTINATION: { key: "destination", readBy: "config" },
  CLOUDSYNC_COMPRESSION: { key: "compression", readBy: "config" },
  CLOUDSYNC_GZIP_LEVEL: { key: "gzipLevel", readBy: "config" },
  CLOUDSYNC_ZSTD_LEVEL: { key: "zstdLevel", readBy: "config" },
  CLOUDSYNC_RECIPIENTS: { key: "recipients", readBy: "config" },
  CLOUDSYNC_IDENTITY_FILE: { key: "identityFiles", readBy: "config" },
  CLOUDSYNC_PASSPHRASE_FILE: { key: "passphraseFile", readBy: "config" },
  CLOUDSYNC_GPG_RECIPIENTS: { key: "gpgRecipients", readBy: "config" },
  CLOUDSYNC_ALLOW_UNENCRYPTED: { key: "allowUnencrypted", readBy: "config" },
  CLOUDSYNC_S3_ENDPOINT: { key: "s3Endpoint", readBy: "config" },
  AWS_REGION: { key: "s3Region", readBy: "config" },
  AWS_ACCESS_KEY_ID: { key: "s3AccessKeyId", readBy: "config" },
  AWS_SECRET_ACCESS_KEY: { key: "s3SecretAccessKey", readBy: "config" },
  CLOUDSYNC_S3_FORCE_PATH_STYLE: { key: "s3ForcePathStyle", readBy: "config" },
  AZURE_STORAGE_CONNECTION_STRING: { key: "azureConnectionString", readBy: "config" },
  AZURE_STORAGE_ACCOUNT: { key: "azureAccount", readBy: "config" },
  AZURE_STORAGE_KEY: { key: "azureAccountKey", readBy: "config" },
  AZURE_STORAGE_SAS_TOKEN: { key: "azureSasToken", readBy: "config" },
  CLOUDSYNC_AZURE_ENDPOINT: { key: "azureEndpoint", readBy: "config" },
  GOOGLE_APPLICATION_CREDENTIALS: { key: "gcsKeyFile", readBy: "config" },
  CLOUDSYNC_GCS_ENDPOINT: { key: "gcsEndpoint", readBy: "config" },
  MONGODB_URI: { key: "mongodbUri", readBy: "config" },
  CLOUDSYNC_KEEP_LAST: { key: "keepLast", readBy: "config" },
  CLOUDSYNC_KEEP_DAILY: { key: "keepDaily", readBy: "config" },
  CLOUDSYNC_KEEP_WEEKLY: { key: "keepWeekly", readBy: "config" },
  CLOUDSYNC_KEEP_MONTHLY: { key: "keepMonthly", readBy: "config" },
  CLOUDSYNC_KEEP_WITHIN: { key: "keepWithin", readBy: "config" },
  CLOUD_SYNC_ENABLED: { key: "cloudSyncEnabled", readBy: "config" },
  CLOUD_SYNC_PROVIDER: { key: "cloudSyncProvider", readBy: "config" },
  CLOUD_SYNC_ENDPOINT: { key: "cloudSyncEndpoint", readBy: "config" },
  CLOUD_SYNC_API_KEY: { key: "cloudSyncApiKey", readBy: "config" },
  CLOUD_SYNC_BUCKET: { key: "cloudSyncBucket", readBy: "config" },
  CLOUDSYNC_CONFIG: { readBy: "config" },
  CLOUDSYNC_SCHEDULE: { key: "schedule", readBy: "config" },
  CLOUDSYNC_JITTER: { key: "jitter", readBy: "config" },
  CLOUDSYNC_STATE_DIR: { key: "stateDir", readBy: "config" },
  CLOUDSYNC_METRICS_PORT: { key: "metricsPort", readBy: "config" },
  CLOUDSYNC_METRICS_HOST: { key: "metricsHost", readBy: "config" },
  CLOUDSYNC_HEARTBEAT_URL: { key: "heartbeatUrl", readBy: "config" },
  CLOUDSYNC_CLOUD_PREFIX: { key: "cloudPrefix", readBy: "config" },
  CLOUDSYNC_OPLOG_FOLLOW: { key: "oplogFollow", readBy: "config" },
  CLOUDSYNC_FAULT_PUSH_DELAY_MS: { readBy: "metadata server" },
  CLOUDSYNC_CLOUD_DESTINATION: { readBy: "scripts" },
  CLOUDSYNC_BIN: { readBy: "scripts" },
  CLOUDSYNC_NODE_VERSION: { readBy: "scripts" },
  CLOUDSYNC_S3_DIR: { readBy: "scripts" },
  CLOUDSYNC_S3_PORT: { readBy: "scripts" },
  CLOUDSYNC_S3_MGR: { readBy: "scripts" },
  CLOUDSYNC_S3_TIMEOUT: { readBy: "scripts" },
  CLOUDSYNC_PEERS_DIR: { readBy: "scripts" },
  CLOUDSYNC_DOCKER_DIR: { readBy: "scripts" },
  CLOUDSYNC_DOCKER_TIMEOUT: { readBy: "scripts" },
  CLOUDSYNC_TEST_S3: { readBy: "tests" },
  CLOUDSYNC_TEST_AZURE: { readBy: "tests" },
  CLOUDSYNC_TEST_GCS: { readBy: "tests" },
  CLOUDSYNC_TEST_DOCKER: { readBy: "tests" },
  CLOUDSYNC_DIST: { readBy: "tests" },
  CLOUDSYNC_TEST_MATRIX_LOG: { readBy: "tests" },
};

/** Environment variables `loadConfig` reads, mapped to their config keys (derived from VARIABLES). */
export const ENVIRONMENT: Readonly<Record<string, keyof RawConfig>> = Object.fromEntries(
  Object.entries(VARIABLES).flatMap(([name, v]) => (v.key ? [[name, v.key] as const] : [])),
);

/**
 * One warning per `CLOUDSYNC_*` or `CLOUD_SYNC_*` variable set in `env` that cloudsync does not
 * know (a typo would otherwise be ignored silently), naming the closest known variable.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = Object.keys(VARIABLES);
  return Object.keys(env)
    .filter((name) => /^(CLOUDSYNC|CLOUD_SYNC)_/.test(name) && !(name in VARIABLES))
    .sort()
    .map((name) => {
      const closest = known.reduce((best, k) => (editDistance(name, k) < editDistance(name, best) ? k : best));
      // A suggestion only for a near miss (a typo), not for a name that merely shares the prefix.
      const nearMiss = editDistance(name, closest) <= Math.max(2, Math.floor(name.replace(/^(CLOUDSYNC|CLOUD_SYNC)_/, "").length / 3));
      return `${name} is not a cloudsync variable and is ignored; ${nearMiss ? `did you mean ${closest}?` : "the README's Configuration section lists the known ones"}`;
    });
}

// Levenshtein distance, for naming the variable a typo was meant to be.
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

const ENV_NAME: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ENVIRONMENT).map(([env, key]) => [key, env]));

/**
 * Built-in defaults, the only place they are written: a local, encrypted, gzip level 1 backup to
 * ./backups with 7 days kept; the daemon runs daily at 03:00 UTC with /metrics on 127.0.0.1:9464.
 * `stateDir` depends on the environment, so its default is {@link stateHome}.
 */
export const DEFAULTS = {
  destination: "./backups",
  compression: "gzip",
  gzipLevel: 1,
  zstdLevel: 1,
  allowUnencrypted: false,
  s3Region: "us-east-1",
  s3ForcePathStyle: true,
  mongodbUri: "mongodb://127.0.0.1:27017",
  keepWithin: "7d",
  cloudSyncEnabled: false,
  cloudSyncProvider: "none",
  schedule: "0 3 * * *",
  jitter: "0",
  metricsPort: 9464,
  metricsHost: "127.0.0.1",
  cloudPrefix: "",
  oplogFollow: false,
} as const satisfies RawConfig;

/** Default place for a new identity (`keys new`): `$XDG_CONFIG_HOME/cloudsync/identity.txt`, else `~/.config/…`; never the backup folder. */
export function defaultIdentityPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME ?? path.join(homedir(), ".config"), "cloudsync", "identity.txt");
}

/** cloudsync's state folder: `$XDG_STATE_HOME/cloudsync`, else `~/.local/state/cloudsync`. The default `stateDir`. */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(homedir(), ".local", "state"), "cloudsync");
}

const KNOWN_KEYS = new Set<string>([...Object.keys(DEFAULTS), ...Object.values(ENVIRONMENT)]);

/** Where each setting of a loaded Config came from, and how to name it there (see `settingName`). */
const PROVENANCE = new WeakMap<Config, { origin: (key: keyof RawConfig) => Origin; name: (key: keyof RawConfig) => string }>();

/** Where each layer's value came from, so errors can name the setting as the user wrote it. */
export type Origin = "default" | "file" | "env" | "flag";

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

  // A secret key given where a recipient, a path or any other setting belongs is reported
  // without being repeated (the output redacts its shape too).
  for (const [key, v] of Object.entries(merged)) {
    const values = Array.isArray(v) ? v : [v];
    if (!values.some((x) => typeof x === "string" && containsAgeSecretKey(x))) continue;
    if (key === "recipients") fail(key, SECRET_KEY_NOT_RECIPIENT);
    else if (key === "identityFiles") fail(key, "this is a secret key itself, not the path of an identity file; save it in a file only you can read and give that file's path (`age-keygen -y FILE` prints its recipient)");
    else fail(key as keyof RawConfig, "holds an age secret key (AGE-SECRET-KEY-1…), which belongs in an identity file; move it there and keep it off this setting");
  }

  const recipients = list("recipients");
  for (const r of recipients) if (!containsAgeSecretKey(r) && !/^age1[02-9ac-hj-np-z]{58}$/.test(r)) fail("recipients", `"${r}" is not an age X25519 recipient (age1 followed by 58 bech32 characters); create one with \`cloudsync keys new\``);

  const keepWithin = str("keepWithin") ?? DEFAULTS.keepWithin;
  const keepWithinCheck = checkDuration(keepWithin, RETENTION);
  if (!keepWithinCheck.ok) fail("keepWithin", keepWithinCheck.problem);

  const mongodbUri = str("mongodbUri") ?? DEFAULTS.mongodbUri;

  const schedule = str("schedule") ?? DEFAULTS.schedule;
  try {
    parseCron(schedule, nameOf("schedule"));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    fail("schedule", err.message.slice(err.field.length + 2));
  }
  const jitter = str("jitter") ?? DEFAULTS.jitter;
  const jitterCheck = checkDuration(jitter, { allowZero: true });
  if (!jitterCheck.ok) fail("jitter", jitterCheck.problem);
  const heartbeatUrl = str("heartbeatUrl");
  // The URL usually carries a token, so the message does not repeat it.
  if (heartbeatUrl !== undefined && !/^https?:\/\//.test(heartbeatUrl)) fail("heartbeatUrl", "must be an http:// or https:// URL");
  if (!/^mongodb(\+srv)?:\/\//.test(mongodbUri)) fail("mongodbUri", `must start with mongodb:// or mongodb+srv://`);

  const config: Config = {
    destination: str("destination") ?? DEFAULTS.destination,
    compression: oneOf("compression", COMPRESSIONS),
    gzipLevel: int("gzipLevel", 1, 9) ?? DEFAULTS.gzipLevel,
    zstdLevel: int("zstdLevel", 1, 19) ?? DEFAULTS.zstdLevel,
    recipients,
    identityFiles: list("identityFiles"),
    passphraseFile: str("passphraseFile"),
    gpgRecipients: list("gpgRecipients"),
    allowUnencrypted: bool("allowUnencrypted"),
    s3: {
      endpoint: url("s3Endpoint"),
      region: str("s3Region") ?? DEFAULTS.s3Region,
      accessKeyId: str("s3AccessKeyId"),
      secretAccessKey: secret("s3SecretAccessKey"),
      forcePathStyle: bool("s3ForcePathStyle"),
    },
    azure: {
      connectionString: secret("azureConnectionString"),
      account: str("azureAccount"),
      accountKey: secret("azureAccountKey"),
      sasToken: secret("azureSasToken"),
      endpoint: url("azureEndpoint"),
    },
    gcs: {
      keyFile: str("gcsKeyFile"),
      endpoint: url("gcsEndpoint"),
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
    daemon: {
      schedule,
      jitter,
      jitterMs: jitterCheck.ok ? jitterCheck.ms : 0,
      stateDir: str("stateDir") ?? stateHome(env),
      metricsPort: int("metricsPort", 0, 65535) ?? DEFAULTS.metricsPort,
      metricsHost: str("metricsHost") ?? DEFAULTS.metricsHost,
      ...(heartbeatUrl !== undefined ? { heartbeatUrl: new Secret(heartbeatUrl) } : {}),
      cloudPrefix: (str("cloudPrefix") ?? DEFAULTS.cloudPrefix).replace(/^\/+|\/+$/g, ""),
      oplogFollow: bool("oplogFollow"),
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
  // A setting left at its default is named by the flag that would set it, when the caller has one.
  PROVENANCE.set(config, { origin: (key) => origin[key] ?? "default", name: (key) => (origin[key] ?? "default") === "default" ? (options.flagNames?.[key] ?? nameOf(key)) : nameOf(key) });
  return deepFreeze(config);
}

/**
 * How the user spelt setting `key` of a Config from `loadConfig`: the flag (from `flagNames`), the
 * environment variable, `<file>: key` for the config file; for a default, the flag that sets it
 * when `flagNames` has one, else the variable, else the key. For a Config built by hand, the key.
 */
export function settingName(config: Config, key: keyof RawConfig): string {
  return PROVENANCE.get(config)?.name(key) ?? key;
}

/** Which layer setting `key` of a Config from `loadConfig` came from; "default" for a Config built by hand. */
export function settingOrigin(config: Config, key: keyof RawConfig): Origin {
  return PROVENANCE.get(config)?.origin(key) ?? "default";
}

/**
 * `err` with a ConfigError naming a config key (`recipients`, as the pipeline and the library
 * throw it) renamed to the setting as the user spelt it for `config` (`--recipient`,
 * `CLOUDSYNC_RECIPIENTS`); any other error unchanged. What the CLI does before printing.
 */
export function nameSettingIn(err: unknown, config: Config | undefined): unknown {
  if (!(err instanceof ConfigError) || !config || !KNOWN_KEYS.has(err.field)) return err;
  const name = settingName(config, err.field as keyof RawConfig);
  if (name === err.field) return err;
  return new ConfigError(name, err.message.slice(err.field.length + 2), { cause: err.cause });
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

/** The compression of a backup as the configuration sets it: the algorithm and the level of that algorithm. */
export function compressionOf(config: Config): { readonly algorithm: Compression; readonly level?: number } {
  if (config.compression === "none") return { algorithm: "none" };
  return { algorithm: config.compression, level: config.compression === "zstd" ? config.zstdLevel : config.gzipLevel };
}
