import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ALLOW_PUBLIC_LABEL } from "../policy/rules/mongo-not-public.js";
import { KEYFILE, MONGOD_PORT, MONGODB_UID, ROOT_PASSWORD_FILE, mongoHealthcheck, mongodCommand } from "./mongo-container.js";

/** Arguments of `MongoNode`. */
export interface MongoNodeArgs {
  /** MongoDB Community image, pinned by tag (and digest when known), e.g. `mongo:8.0.12`. */
  readonly image: pulumi.Input<string>;
  /** Container name; also its host name on the Docker network. */
  readonly containerName: pulumi.Input<string>;
  /** Host port published for mongod. */
  readonly hostPort: pulumi.Input<number>;
  /** Host address the port is bound to. Default `127.0.0.1`; anything else needs `allowPublic`. */
  readonly bindAddress?: pulumi.Input<string>;
  /** Must be true to bind anywhere but loopback. The stack's config reader enforces it too. */
  readonly allowPublic?: boolean;
  /** Container memory limit in MiB. */
  readonly memoryMb: pulumi.Input<number>;
  /** Replica-set name (single member). */
  readonly replicaSet: string;
  /** Root user name (not secret). */
  readonly rootUser: string;
  /** Root password: a Pulumi secret, uploaded as a file, never env or args. */
  readonly rootPassword: pulumi.Input<string>;
  /** Replica-set keyfile content (6–1024 base64 characters): a Pulumi secret, uploaded as a file. */
  readonly keyfile: pulumi.Input<string>;
  /**
   * Prefix of the Docker names of the volumes and the network, e.g. `cloudsync-local-` (see
   * `dockerNamePrefix`): a volume that already exists under the resulting name is adopted as it
   * is, and the image's entrypoint then skips initialisation, so the names must be this stack's own.
   */
  readonly dockerNamePrefix: string;
}

/**
 * A MongoDB Community node in Docker: one container running a single-member replica set with
 * auth (snapshot reads, the oplog and change streams need a replica set), a private network,
 * and two named volumes (data, config) that outlive the container — `protect` refuses their
 * deletion and replacement, `retainOnDelete` keeps them even after a deliberate unprotect and
 * `pulumi destroy`. The port is bound to 127.0.0.1 unless `allowPublic`. Secrets reach the
 * container as uploaded files (`MONGO_INITDB_ROOT_PASSWORD_FILE`, `--keyFile`), so neither
 * `docker inspect` nor the Pulumi inputs show them in plain text. The health check initiates the
 * replica set on first start and reports healthy once it is up (idempotent).
 */
export class MongoNode extends pulumi.ComponentResource {
  /** The private Docker network other containers join to reach mongod. */
  readonly networkName: pulumi.Output<string>;
  /** Container name (host name on `networkName`). */
  readonly containerName: pulumi.Output<string>;
  /** Data volume name (`/data/db`). */
  readonly dataVolumeName: pulumi.Output<string>;
  /** Config volume name (`/data/configdb`). */
  readonly configVolumeName: pulumi.Output<string>;
  /** `host:port` reachable from the host running Docker. */
  readonly hostEndpoint: pulumi.Output<string>;

  constructor(name: string, args: MongoNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cloudsync:infra:MongoNode", name, args, opts);
    const bind = args.bindAddress ?? "127.0.0.1";
    const checkedBind = pulumi.output(bind).apply((ip) => {
      if (!ip.startsWith("127.") && !args.allowPublic) throw new Error(`MongoNode ${name}: bindAddress ${ip} exposes MongoDB; set allowPublic to bind beyond loopback`);
      return ip;
    });
    // Volumes hold the database: never silently replaced, kept after destroy.
    const keep: pulumi.CustomResourceOptions = { parent: this, protect: true, retainOnDelete: true };
    const dockerName = `${args.dockerNamePrefix}${name}`;
    const data = new docker.Volume(`${name}-data`, { name: `${dockerName}-data` }, keep);
    const config = new docker.Volume(`${name}-config`, { name: `${dockerName}-config` }, keep);
    const network = new docker.Network(`${name}-net`, { name: `${dockerName}-net`, internal: false }, { parent: this });

    const container = new docker.Container(
      `${name}-mongod`,
      {
        name: args.containerName,
        image: args.image,
        command: mongodCommand(args.replicaSet),
        envs: [`MONGO_INITDB_ROOT_USERNAME=${args.rootUser}`, `MONGO_INITDB_ROOT_PASSWORD_FILE=${ROOT_PASSWORD_FILE}`],
        uploads: [
          // The entrypoint reads the password file after dropping to the mongodb user, under `set -e`.
          { file: ROOT_PASSWORD_FILE, content: pulumi.secret(args.rootPassword), permissions: "0400", owner: MONGODB_UID, group: MONGODB_UID },
          { file: KEYFILE, content: pulumi.secret(args.keyfile), permissions: "0400", owner: MONGODB_UID, group: MONGODB_UID },
        ],
        ports: [{ internal: MONGOD_PORT, external: args.hostPort, ip: checkedBind, protocol: "tcp" }],
        volumes: [
          { volumeName: data.name, containerPath: "/data/db" },
          { volumeName: config.name, containerPath: "/data/configdb" },
        ],
        networksAdvanced: [{ name: network.name, aliases: [args.containerName] }],
        healthcheck: mongoHealthcheck({ replSet: args.replicaSet, user: args.rootUser }),
        restart: "unless-stopped",
        memory: args.memoryMb,
        // Records the decision for the policy pack's mongo-not-public rule.
        labels: [{ label: ALLOW_PUBLIC_LABEL, value: String(args.allowPublic === true) }],
      },
      { parent: this, dependsOn: [data, config] },
    );

    this.networkName = network.name;
    this.containerName = container.name;
    this.dataVolumeName = data.name;
    this.configVolumeName = config.name;
    this.hostEndpoint = pulumi.interpolate`${checkedBind}:${args.hostPort}`;
    this.registerOutputs({
      networkName: this.networkName,
      containerName: this.containerName,
      dataVolumeName: this.dataVolumeName,
      configVolumeName: this.configVolumeName,
      hostEndpoint: this.hostEndpoint,
    });
  }
}
