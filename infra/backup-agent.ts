import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SECRET_ENV_DIR, agentCommand, agentEnvironment, type AgentCloudTarget } from "./agent-container.js";

/** Arguments of `BackupAgent`. */
export interface BackupAgentArgs {
  /** Tag of the locally built runtime image, e.g. `cloudsync-agent:local`. */
  readonly imageName: string;
  /** Build context (the repository root, holding `Dockerfile`). */
  readonly buildContext: string;
  /** Docker network shared with the MongoDB node. */
  readonly networkName: pulumi.Input<string>;
  /** MongoDB connection string including credentials: a Pulumi secret, delivered as a file. */
  readonly mongoUri: pulumi.Input<string>;
  /** Cron expression of the scheduled backup (daily by default in the stack). */
  readonly schedule: string;
  /** Days local backups are kept. */
  readonly retentionDays: number;
  /** age recipients (public). */
  readonly recipients: readonly string[];
  /** Container memory limit in MiB. */
  readonly memoryMb: number;
  /** Cloud destination (cloud phase); absent in the local phase. */
  readonly cloud?: pulumi.Input<AgentCloudTarget>;
  /** Cloud credentials as env var name → secret value (e.g. AWS_ACCESS_KEY_ID); delivered as files. */
  readonly cloudCredentials?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Platform the image is built for, e.g. `linux/arm64`. Absent (the default): the Docker
   * daemon's own platform, which is what the container then runs on.
   */
  readonly platform?: string;
  /** Prefix of the Docker names of the container and the backups volume (see `dockerNamePrefix`). */
  readonly dockerNamePrefix: string;
}

/** Mount point of the backups volume in the agent container. */
export const BACKUPS_DIR = "/backups";

/**
 * The scheduled backup agent: the runtime image built from this repository's Dockerfile (never
 * pushed), and a container running `cloudsync daemon` with a protected, retained backups volume.
 * Non-secret settings are env vars (`agentEnvironment`); the MongoDB URI and cloud credentials
 * are uploaded as files under `SECRET_ENV_DIR` and exported by the container command only inside
 * the container (`agentCommand`), so they appear neither in `docker inspect` nor in plain inputs.
 */
export class BackupAgent extends pulumi.ComponentResource {
  /** The image reference built (`imageName` plus the content digest Docker reports). */
  readonly imageRef: pulumi.Output<string>;
  /** Container name. */
  readonly containerName: pulumi.Output<string>;
  /** Backups volume name. */
  readonly backupsVolumeName: pulumi.Output<string>;

  constructor(name: string, args: BackupAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cloudsync:infra:BackupAgent", name, args, opts);
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: args.imageName,
        build: { context: args.buildContext, dockerfile: `${args.buildContext}/Dockerfile`, ...(args.platform ? { platform: args.platform } : {}) },
        skipPush: true,
      },
      { parent: this },
    );
    const dockerName = `${args.dockerNamePrefix}${name}`;
    const backups = new docker.Volume(`${name}-backups`, { name: `${dockerName}-backups` }, { parent: this, protect: true, retainOnDelete: true });
    const env = pulumi.output(args.cloud).apply((cloud) =>
      agentEnvironment({ schedule: args.schedule, retentionDays: args.retentionDays, recipients: args.recipients, backupsDir: BACKUPS_DIR, ...(cloud ? { cloud } : {}) }),
    );
    const secretFiles: Record<string, pulumi.Input<string>> = { MONGODB_URI: args.mongoUri, ...args.cloudCredentials };
    const container = new docker.Container(
      `${name}-daemon`,
      {
        name: `${dockerName}-daemon`,
        image: image.repoDigest.apply((d) => d || args.imageName),
        command: agentCommand(),
        envs: env,
        uploads: Object.keys(secretFiles)
          .sort()
          .map((k) => ({ file: `${SECRET_ENV_DIR}/${k}`, content: pulumi.secret(secretFiles[k]!), permissions: "0400", owner: "1000", group: "1000" })),
        volumes: [{ volumeName: backups.name, containerPath: BACKUPS_DIR }],
        networksAdvanced: [{ name: args.networkName }],
        restart: "unless-stopped",
        memory: args.memoryMb,
        // SIGTERM lets the daemon finish or abandon the current run cleanly (no half backup listed).
        stopSignal: "SIGTERM",
        stopTimeout: 120,
      },
      { parent: this },
    );
    this.imageRef = image.repoDigest.apply((d) => d || args.imageName);
    this.containerName = container.name;
    this.backupsVolumeName = backups.name;
    this.registerOutputs({ imageRef: this.imageRef, containerName: this.containerName, backupsVolumeName: this.backupsVolumeName });
  }
}
