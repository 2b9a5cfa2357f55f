import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import path from "node:path";
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
  /** The server bundle built by `buildServerBundle`: its directory (named `bundle`) and content hash. */
  readonly bundle: { readonly dir: string; readonly releaseId: string };
  /** The push secret `CLOUD_SYNC_API_KEY` (Pulumi secret); lands only in the 0640 env file. */
  readonly apiKey: pulumi.Input<string>;
  /** Paths, user, port and `MemoryMax` on the host (defaults from runtime/src/metadata/deploy). */
  readonly host?: MetadataHostOptions;
  /**
   * Directory on the host under which each release is staged (`<stagingRoot>/<releaseId>`) before
   * the deploy steps install it. Default `STAGING_ROOT`. It must survive reboots and temp
   * cleaners: a release is uploaded once, and every later deploy of it (an env-file or unit
   * change) installs from there.
   */
  readonly stagingRoot?: string;
}

/** Default `stagingRoot`: persistent state of the deploy, not `/tmp` (cleaned at boot and by tmpfiles). */
export const STAGING_ROOT = "/var/lib/cloudsync-deploy";

/** sha256 hex of text: trigger values that change exactly when the text does. */
export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The public metadata server on the user's own host, over SSH with `@pulumi/command`: copies the
 * bundle to a persistent staging directory named after its release id (`stagingRoot`), stages the systemd unit (non-root
 * user, `MemoryMax`, `Restart=on-failure`, `EnvironmentFile`, the malloc `Environment=`), the env file holding the API
 * secret (sent on stdin, never in a command line) and the Caddy site, then runs the idempotent
 * `deploySteps`. The deploy step's triggers are the release id and the hashes of the unit, env
 * file and site, so the service restarts only when one of them changes; an unchanged bundle is
 * neither copied nor restarted. The deploy step has no delete command and is replaced
 * delete-before-replace: Pulumi's default create-before-delete would run an old step's delete after
 * the new one started the service. Stopping and disabling the unit belongs to a separate
 * `<name>-service` command that no redeploy replaces, so only destroying the stack (or the
 * component) stops it; the data directory (SQLite) and releases stay on the host. Staged
 * releases other than the live one are removed after a successful deploy.
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
    const stagingRoot = args.stagingRoot ?? STAGING_ROOT;
    if (!/^\/[A-Za-z0-9._/@+-]*[A-Za-z0-9._@+-]$/.test(stagingRoot)) throw new Error(`MetadataServer ${name}: stagingRoot must be an absolute path of letters, digits and ._/@+- (got ${JSON.stringify(stagingRoot)})`);
    const staging = `${stagingRoot}/${args.bundle.releaseId}`;
    const connection = { host: args.connection.host, port: args.connection.port, user: args.connection.user, privateKey: pulumi.secret(args.connection.privateKey) };
    const unit = renderSystemdUnit(hostOpts);
    const site = renderProxySite({ ...hostOpts, domain: args.domain });
    const env = pulumi.secret(pulumi.output(args.apiKey).apply((k) => renderEnvFile({ ...hostOpts, apiKey: new Secret(k) })));

    // Owned by the login user, who uploads into it; created through sudo because the root is not theirs.
    const mkStaging = sudo ? `sudo install -d -m 0700 -o "$(id -un)" -g "$(id -gn)" ${stagingRoot} ${staging}` : `install -d -m 0700 ${stagingRoot} ${staging}`;
    const dir = new command.remote.Command(`${name}-staging`, { connection, create: mkStaging, triggers: [args.bundle.releaseId] }, { parent: this });
    // CopyToRemote copies a directory into an existing remote directory under the directory's
    // own name (as `scp -r` does), so the bundle, named `bundle`, lands at <staging>/bundle,
    // where the deploy steps read it. Found by a real engine: the provider does not rename it.
    if (path.basename(args.bundle.dir) !== "bundle") throw new Error(`MetadataServer ${name}: the bundle directory must be named "bundle" (it is copied under its own name), got ${JSON.stringify(args.bundle.dir)}`);
    const copy = new command.remote.CopyToRemote(
      `${name}-bundle`,
      { connection, source: new pulumi.asset.FileArchive(args.bundle.dir), remotePath: staging, triggers: [args.bundle.releaseId] },
      { parent: this, dependsOn: [dir] },
    );
    const stage = (suffix: string, file: string, text: pulumi.Input<string>): command.remote.Command =>
      new command.remote.Command(
        `${name}-${suffix}`,
        { connection, create: `umask 077 && cat > ${staging}/${file}`, stdin: text, triggers: [args.bundle.releaseId], logging: "none" },
        { parent: this, dependsOn: [dir] },
      );
    const files = [stage("unit", `${hostOpts.serviceName}.service`, unit), stage("env", "env", env), stage("site", `${hostOpts.serviceName}.caddy`, site)];
    const script = [
      "set -e",
      ...deploySteps({ ...hostOpts, stagingDir: staging, releaseId: args.bundle.releaseId, privileged: true, sudo, proxy: true }),
      `cd ${stagingRoot} && ls -1 | grep -v -x -e ${args.bundle.releaseId} | xargs -r rm -rf --`,
    ].join("\n");
    const stop = `${sudo ? "sudo " : ""}systemctl disable --now ${hostOpts.serviceName} || true`;
    // Created once (nothing to do: the deploy starts the unit); its delete runs only when the
    // server itself goes away, never on a redeploy, since no input of it changes with a release.
    const service = new command.remote.Command(`${name}-service`, { connection, create: "true", delete: stop }, { parent: this });
    const deploy = new command.remote.Command(
      `${name}-deploy`,
      {
        connection,
        create: script,
        triggers: [args.bundle.releaseId, contentHash(unit), pulumi.secret(env.apply(contentHash)), contentHash(site)],
      },
      // Delete-before-replace: a step recorded with a `delete` by an older version of this
      // component then disables the unit before, not after, the new deploy starts it.
      { parent: this, dependsOn: [service, copy, ...files], deleteBeforeReplace: true },
    );
    this.releaseId = deploy.triggers.apply(() => args.bundle.releaseId);
    this.url = pulumi.output(`https://${args.domain}/`);
    this.registerOutputs({ releaseId: this.releaseId, url: this.url });
  }
}
