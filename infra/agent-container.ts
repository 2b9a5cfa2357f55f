/**
 * Pure builders for the backup agent container: its environment (never a secret) and its
 * command, which turns secret files into environment variables inside the container only.
 */

/** Directory of secret env files: `<dir>/<NAME>` holds the value of env var NAME. */
export const SECRET_ENV_DIR = "/run/secrets/env";

/** The cloud destination the agent also uploads to (the cloud phase). */
export interface AgentCloudTarget {
  readonly provider: "s3" | "backblaze";
  readonly bucket: string;
  readonly prefix: string;
  /** S3 endpoint URL (B2: https://s3.<region>.backblazeb2.com); absent for AWS. */
  readonly endpoint?: string;
  /** Region (AWS region, or the B2 region part of the endpoint). */
  readonly region: string;
}

/** Inputs of `agentEnvironment`. */
export interface AgentEnvOptions {
  /** Five-field cron expression of the scheduled backup. */
  readonly schedule: string;
  /** Local retention in days (the `keepWithin` of the local destination). */
  readonly retentionDays: number;
  /** age recipients the backups are encrypted to (public keys: not secret). */
  readonly recipients: readonly string[];
  /** Mount point of the backups volume inside the container. */
  readonly backupsDir: string;
  /** Present in the cloud phase. */
  readonly cloud?: AgentCloudTarget;
}

/**
 * `NAME=value` lines for the agent container, sorted by name. Only non-secret settings: the
 * MongoDB URI and cloud credentials arrive as files in `SECRET_ENV_DIR` (see `agentCommand`).
 * Variable names are the runtime's (runtime/src/config/config.ts) plus `CLOUDSYNC_SCHEDULE`
 * for the daemon.
 */
export function agentEnvironment(o: AgentEnvOptions): string[] {
  const env: Record<string, string> = {
    CLOUDSYNC_DESTINATION: `file://${o.backupsDir}`,
    CLOUDSYNC_SCHEDULE: o.schedule,
    // The daemon's status and lock live on the persistent backups volume (outside the data/,
    // manifests/ and verifications/ prefixes that listing and pruning touch), so they survive a
    // recreated container.
    CLOUDSYNC_STATE_DIR: `${o.backupsDir}/.state`,
    CLOUDSYNC_KEEP_WITHIN: `${o.retentionDays}d`,
    CLOUDSYNC_RECIPIENTS: o.recipients.join(","),
    CLOUD_SYNC_ENABLED: o.cloud ? "true" : "false",
    CLOUD_SYNC_PROVIDER: o.cloud?.provider ?? "none",
  };
  if (o.cloud) {
    env.CLOUD_SYNC_BUCKET = o.cloud.bucket;
    env.CLOUDSYNC_CLOUD_PREFIX = o.cloud.prefix;
    env.AWS_REGION = o.cloud.region;
    // Only the S3 endpoint: CLOUD_SYNC_ENDPOINT is the metadata server's URL to the runtime.
    if (o.cloud.endpoint) env.CLOUDSYNC_S3_ENDPOINT = o.cloud.endpoint;
  }
  return Object.keys(env).sort().map((k) => `${k}=${env[k]}`);
}

/**
 * The container command: a POSIX shell that exports each file in `SECRET_ENV_DIR` as the
 * variable named after it, then `exec`s `node bin/cloudsync.js daemon` (PID 1 stays node, so
 * SIGTERM reaches the daemon). Secrets therefore live only in the container's process
 * environment, never in `docker inspect`, the image, or Pulumi's plain-text inputs.
 */
export function agentCommand(): string[] {
  const script = `for f in ${SECRET_ENV_DIR}/*; do [ -f "$f" ] || continue; n=$(basename "$f"); export "$n=$(cat "$f")"; done; exec node bin/cloudsync.js daemon`;
  return ["/bin/sh", "-c", script];
}
