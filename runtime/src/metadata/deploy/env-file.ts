import { ConfigError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import { resolveHostOptions, type MetadataHostOptions } from "./options.js";

/** The placeholder written when no key is given: the server refuses to start with it. */
export const API_KEY_PLACEHOLDER = "REPLACE_WITH_THE_SHARED_SECRET";

/**
 * Environment variables read by the server entry (`serve-main.js`). The same names are used by
 * `cloudsync serve-metadata` as fallbacks for its flags.
 */
export const SERVER_ENV = {
  apiKey: "CLOUD_SYNC_API_KEY",
  db: "METADATA_DB",
  host: "METADATA_HOST",
  port: "METADATA_PORT",
  docs: "METADATA_DOCS_DIR",
  trustProxy: "METADATA_TRUST_PROXY",
} as const;

/**
 * Renders the env file the unit loads (`EnvironmentFile=`). With `apiKey` the output contains
 * the secret: write it mode 0640 owned by root and the service group, never log it. Without
 * `apiKey` it is a template holding `API_KEY_PLACEHOLDER`. Pure; throws like `resolveHostOptions`
 * and when the key holds a character that systemd's env-file syntax would alter.
 */
export function renderEnvFile(opts: MetadataHostOptions & { apiKey?: Secret } = {}): string {
  const o = resolveHostOptions(opts);
  const key = opts.apiKey?.reveal() ?? API_KEY_PLACEHOLDER;
  // systemd and sh both read this file; a key of printable non-space, non-quote characters
  // means the same thing to both without quoting rules.
  if (!/^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]{16,512}$/.test(key)) throw new ConfigError("deploy option apiKey", "must be 16-512 printable characters without spaces, quotes or backslashes");
  return `# cloudsync metadata server environment (mode 0640, root:${o.user}); contains the push secret
${SERVER_ENV.apiKey}=${key}
${SERVER_ENV.db}=${o.dataDir}/metadata.sqlite
${SERVER_ENV.host}=${o.host}
${SERVER_ENV.port}=${o.port}
${SERVER_ENV.docs}=${o.docsDir}
# The reverse proxy on loopback sets X-Forwarded-For; per-client rate limits key on it.
${SERVER_ENV.trustProxy}=loopback
NODE_ENV=production
`;
}
