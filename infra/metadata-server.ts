import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { deploySteps, renderEnvFile, renderProxySite, renderSystemdUnit, resolveHostOptions, type MetadataHostOptions } from "../runtime/src/metadata/deploy/index.js";
import { Secret } from "../runtime/src/secret.js";

/** SSH access to the metadata host. */
export interface SshConnection {
  readonly host: pulumi.Input<string>;
  readonly port: pulumi.Input<number>;
  /** Login user: root, or a sudoer (then every privileged step runs through `sudo`). */
  readonly user: string;
  /** Private key (Pulumi secret). */
  readonly privateKey: pulumi.Input<string>;
}

/** Arguments of `MetadataServer`. */
export interface MetadataServerArgs {
  readonly connection: SshConnection;
  /** Public host name the reverse proxy serves (TLS via Caddy). */
  readonly domain: string;
  /** The server bundle built by `buildServerBundle`: its directory and content hash. */
  readonly bundle: { readonly dir: string; readonly releaseId: string };
  /** The push secret `CLOUD_SYNC_API_KEY` (Pulumi secret); lands only in the 0640 env file. */
  readonly apiKey: pulumi.Input<string>;
  /** Paths, user, port and `MemoryMax` on the host (defaults from runtime/src/metadata/deploy). */
  readonly host?: MetadataHostOptions;
}

/** sha256 hex of text: trigger values that change exactly when the text does. */
export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The public metadata server on the user's own host, over SSH with `@pulumi/command`: copies the
 * bundle to a staging directory named after its release id, stages the systemd unit (non-root
 * user, `MemoryMax`, `Restart=on-failure`, `EnvironmentFile`), the env file holding the API
 * secret (sent on stdin, never in a command line) and the Caddy site, then runs the idempotent
 * `deploySteps`. The deploy step's triggers are the release id and the hashes of the unit, env
 * file and site, so the service restarts only when one of them changes; an unchanged bundle is
 * neither copied nor restarted. Destroying the stack stops and disables the unit; the data
 * directory (SQLite) and releases stay on the host.
 */
export class MetadataServer extends pulumi.ComponentResource {
  /** Release id live after this deploy. */
  readonly releaseId: pulumi.Output<string>;
  /** `https://<domain>/`. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: MetadataServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cloudsync:infra:MetadataServer", name, args, opts);
    const hostOpts = resolveHostOptions(args.host ?? {});
    const sudo = args.connection.user !== "root";
    const staging = `/tmp/cloudsync-deploy/${args.bundle.releaseId}`;
    const connection = { host: args.connection.host, port: args.connection.port, user: args.connection.user, privateKey: pulumi.secret(args.connection.privateKey) };
    const unit = renderSystemdUnit(hostOpts);
    const site = renderProxySite({ ...hostOpts, domain: args.domain });
    const env = pulumi.secret(pulumi.output(args.apiKey).apply((k) => renderEnvFile({ ...hostOpts, apiKey: new Secret(k) })));

    const dir = new command.remote.Command(`${name}-staging`, { connection, create: `install -d -m 0700 ${staging}`, triggers: [args.bundle.releaseId] }, { parent: this });
    const copy = new command.remote.CopyToRemote(
      `${name}-bundle`,
      { connection, source: new pulumi.asset.FileArchive(args.bundle.dir), remotePath: `${staging}/bundle`, triggers: [args.bundle.releaseId] },
      { parent: this, dependsOn: [dir] },
    );
    const stage = (suffix: string, file: string, text: pulumi.Input<string>): command.remote.Command =>
      new command.remote.Command(
        `${name}-${suffix}`,
        { connection, create: `umask 077 && cat > ${staging}/${file}`, stdin: text, triggers: [args.bundle.releaseId], logging: "none" },
        { parent: this, dependsOn: [dir] },
      );
    const files = [stage("unit", `${hostOpts.serviceName}.service`, unit), stage("env", "env", env), stage("site", `${hostOpts.serviceName}.caddy`, site)];
    const script = ["set -e", ...deploySteps({ ...hostOpts, stagingDir: staging, releaseId: args.bundle.releaseId, privileged: true, sudo, proxy: true })].join("\n");
    const stop = `${sudo ? "sudo " : ""}systemctl disable --now ${hostOpts.serviceName} || true`;
    const deploy = new command.remote.Command(
      `${name}-deploy`,
      {
        connection,
        create: script,
        delete: stop,
        triggers: [args.bundle.releaseId, contentHash(unit), pulumi.secret(env.apply(contentHash)), contentHash(site)],
      },
      { parent: this, dependsOn: [copy, ...files] },
    );
    this.releaseId = deploy.triggers.apply(() => args.bundle.releaseId);
    this.url = pulumi.output(`https://${args.domain}/`);
    this.registerOutputs({ releaseId: this.releaseId, url: this.url });
  }
}
