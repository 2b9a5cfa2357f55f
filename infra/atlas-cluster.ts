import * as atlas from "@pulumi/mongodbatlas";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Arguments of `AtlasCluster`. */
export interface AtlasClusterArgs {
  /** Atlas organization id (24 hex digits). */
  readonly orgId: string;
  readonly projectName: string;
  readonly clusterName: string;
  /** Dedicated tier; M10 is the smallest with cloud backups. */
  readonly instanceSize: string;
  /** AWS, GCP or AZURE. */
  readonly cloudProvider: string;
  /** Atlas region name, e.g. EU_CENTRAL_1. */
  readonly region: string;
  /** Major version, e.g. "8.0". */
  readonly mongoVersion: string;
  /** Database user the backup agent and the application use. */
  readonly dbUser: string;
  /** CIDR blocks allowed to connect. */
  readonly accessList: readonly string[];
  /** Daily snapshot retention in days. */
  readonly snapshotRetentionDays: number;
  /** UTC hour the daily snapshot is taken. */
  readonly snapshotHourUtc: number;
}

/**
 * The database user's generated password: 32 letters and digits (no characters that need
 * URL-encoding in a connection string, about 190 bits). `@pulumi/random` generates it once and
 * keeps it, encrypted, in the stack's state; changing these settings generates a new one.
 */
export const PASSWORD_SPEC = { length: 32, special: false, upper: true, lower: true, numeric: true } as const;

/** Inserts URL-encoded credentials into a `mongodb+srv://host/` string. Pure. */
export function withCredentials(srv: string, user: string, password: string): string {
  if (!srv.startsWith("mongodb+srv://")) throw new Error(`atlas connection string: expected mongodb+srv://, got ${JSON.stringify(srv.slice(0, 20))}`);
  return `mongodb+srv://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${srv.slice("mongodb+srv://".length)}`;
}

/**
 * MongoDB Atlas for the later phase: a project, a three-node replica-set cluster (`M10` by
 * default, `protect`ed, Atlas termination protection on), a database user whose password is
 * generated once by `@pulumi/random` (`PASSWORD_SPEC`; the result is a secret), the IP access list, and a daily cloud backup schedule. The connection string with
 * credentials is a secret output.
 */
export class AtlasCluster extends pulumi.ComponentResource {
  readonly projectId: pulumi.Output<string>;
  /** `mongodb+srv://user:password@host/` (Pulumi secret). */
  readonly connectionString: pulumi.Output<string>;

  constructor(name: string, args: AtlasClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cloudsync:infra:AtlasCluster", name, args, opts);
    const project = new atlas.Project(`${name}-project`, { orgId: args.orgId, name: args.projectName }, { parent: this });
    const cluster = new atlas.AdvancedCluster(
      `${name}-cluster`,
      {
        projectId: project.id,
        name: args.clusterName,
        clusterType: "REPLICASET",
        mongoDbMajorVersion: args.mongoVersion,
        backupEnabled: true,
        terminationProtectionEnabled: true,
        replicationSpecs: [{ regionConfigs: [{ providerName: args.cloudProvider, regionName: args.region, priority: 7, electableSpecs: { instanceSize: args.instanceSize, nodeCount: 3 } }] }],
      },
      { parent: this, protect: true },
    );
    const password = new random.RandomPassword(`${name}-db-password`, PASSWORD_SPEC, { parent: this });
    new atlas.DatabaseUser(
      `${name}-db-user`,
      { projectId: project.id, username: args.dbUser, password: password.result, authDatabaseName: "admin", roles: [{ roleName: "readWriteAnyDatabase", databaseName: "admin" }] },
      { parent: this },
    );
    args.accessList.forEach((cidr, i) => {
      new atlas.ProjectIpAccessList(`${name}-access-${i}`, { projectId: project.id, cidrBlock: cidr, comment: "cloudsync" }, { parent: this });
    });
    new atlas.CloudBackupSchedule(
      `${name}-backup-schedule`,
      {
        projectId: project.id,
        clusterName: cluster.name,
        referenceHourOfDay: args.snapshotHourUtc,
        referenceMinuteOfHour: 0,
        policyItemDaily: { frequencyInterval: 1, retentionUnit: "days", retentionValue: args.snapshotRetentionDays },
      },
      { parent: this },
    );
    this.projectId = project.id;
    this.connectionString = pulumi.secret(pulumi.all([cluster.connectionStrings, password.result]).apply(([cs, pw]) => withCredentials(cs?.standardSrv ?? "mongodb+srv://pending/", args.dbUser, pw)));
    this.registerOutputs({ projectId: this.projectId, connectionString: this.connectionString });
  }
}
