import { ConfigError } from "../../errors.js";
import { resolveHostOptions, type MetadataHostOptions } from "./options.js";

/** Options of `deploySteps`. */
export interface DeployStepsOptions extends MetadataHostOptions {
  /**
   * Directory on the host where the caller uploaded (before the steps run):
   * `bundle/` (the output of `buildServerBundle`), `env` (the output of `renderEnvFile`),
   * `<serviceName>.service` (the output of `renderSystemdUnit`) and, when `proxy` is set,
   * `<serviceName>.caddy` (the output of `renderProxySite`).
   */
  readonly stagingDir: string;
  /** `ServerBundle.releaseId`: the release directory name, so an unchanged bundle is not copied twice. */
  readonly releaseId: string;
  /**
   * true (default): the steps run as root (or through `sudo`, see `sudo`) and create the
   * service user, chown the data directory, install the unit under /etc/systemd/system.
   * false: everything runs as the login user, who is also the service user; paths must be
   * writable by it and no unit is installed (for hosts without root, and the SSH test).
   */
  readonly privileged?: boolean;
  /** Prefix privileged steps with `sudo` (login as a sudoer instead of root). Default false. */
  readonly sudo?: boolean;
  /**
   * `systemd` (default): enable and restart the unit, then wait for `/healthz`.
   * `none`: stop after installing; the caller starts the unit's ExecStart itself (a host or
   * container without systemd as PID 1).
   */
  readonly startWith?: "systemd" | "none";
  /** Install the staged Caddy site and reload Caddy. Default false. */
  readonly proxy?: boolean;
}

/**
 * The remote steps of a deploy, as POSIX shell command lines to run in order on the host, each
 * in its own shell (or all in one `set -e` script: none uses `exit`). Every step is idempotent:
 * re-running a deploy of the same release changes nothing but the restart. The switch to the new
 * release is an atomic symlink rename, so a failed step leaves the previous release live.
 * The first two steps change nothing. The first fails, naming the files, when a staged file is
 * missing (the staging directory was cleaned after the upload); the second, naming both sides,
 * when `nodePath` is
 * missing, runs another Node major than the staged bundle's `builtWith.node`, or runs on another
 * `<platform>-<arch>` than its `builtWith.platform` (its native addon is for that major and
 * platform: the server would not start).
 * Secrets never appear in the command lines (the env file is staged as a file).
 * Pure; throws like `resolveHostOptions`, and when `stagingDir`/`releaseId` are unsafe.
 */
export function deploySteps(opts: DeployStepsOptions): string[] {
  const o = resolveHostOptions(opts);
  if (!/^\/[A-Za-z0-9._/@+-]*$/.test(opts.stagingDir)) throw new ConfigError("deploy option stagingDir", `must be an absolute path of letters, digits and ._/@+- (got ${JSON.stringify(opts.stagingDir)})`);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.releaseId)) throw new ConfigError("deploy option releaseId", `must be 1-64 of letters, digits and ._- (got ${JSON.stringify(opts.releaseId)})`);
  const privileged = opts.privileged ?? true;
  const startWith = opts.startWith ?? "systemd";
  const root = (cmd: string): string => (privileged && opts.sudo ? `sudo sh -c '${cmd}'` : cmd);
  const own = privileged ? ` -o ${o.user} -g ${o.user}` : "";
  const s = opts.stagingDir;
  const release = `${o.appDir}/releases/${opts.releaseId}`;
  const envDir = o.envFile.slice(0, o.envFile.lastIndexOf("/")) || "/";
  const unitPath = `/etc/systemd/system/${o.serviceName}.service`;

  const staged = [`${s}/bundle/package.json`, `${s}/env`, ...(privileged ? [`${s}/${o.serviceName}.service`] : []), ...(opts.proxy ? [`${s}/${o.serviceName}.caddy`] : [])];
  const steps: string[] = [stagedFilesCheck(staged, s, o.serviceName), nodeCheckStep(o.nodePath, `${s}/bundle/package.json`, o.serviceName)];
  if (privileged) {
    steps.push(root(`id -u ${o.user} >/dev/null 2>&1 || useradd --system --user-group --home-dir ${o.dataDir} --no-create-home --shell /usr/sbin/nologin ${o.user}`));
  }
  steps.push(root(`install -d -m 0755 ${o.appDir} ${o.appDir}/releases && install -d -m 0750${own} ${o.dataDir} ${o.docsDir}`));
  // Copy under a temporary name and rename, so a half-copied release never has the final name.
  steps.push(root(`test -d ${release} || { rm -rf ${release}.tmp && cp -R ${s}/bundle ${release}.tmp && chmod -R u=rwX,go=rX ${release}.tmp && mv ${release}.tmp ${release}; }`));
  steps.push(root(`if [ -d ${release}/docs ]; then cp -R ${release}/docs/. ${o.docsDir}/ && chmod -R u=rwX,go=rX ${o.docsDir}; fi`));
  steps.push(
    privileged
      ? root(`install -d -m 0750 -o root -g ${o.user} ${envDir} && install -m 0640 -o root -g ${o.user} ${s}/env ${o.envFile}`)
      : `install -d -m 0700 ${envDir} && install -m 0600 ${s}/env ${o.envFile}`,
  );
  if (privileged) steps.push(root(`install -m 0644 ${s}/${o.serviceName}.service ${unitPath}`));
  steps.push(root(`ln -sfn releases/${opts.releaseId} ${o.appDir}/current.new && mv -T ${o.appDir}/current.new ${o.appDir}/current`));
  if (privileged && startWith === "systemd") {
    steps.push(root(`systemctl daemon-reload && systemctl enable ${o.serviceName} && systemctl restart ${o.serviceName}`));
  }
  if (startWith === "systemd") {
    const probe = `${o.nodePath} -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${o.port}/healthz`;
    steps.push(`ok=0; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do if ${probe}; then ok=1; break; fi; sleep 1; done; [ "$ok" = 1 ] || { echo "${o.serviceName}: /healthz did not answer within 20 s" >&2; false; }`);
  }
  if (opts.proxy) {
    steps.push(root(`install -D -m 0644 ${s}/${o.serviceName}.caddy /etc/caddy/sites/${o.serviceName}.caddy && systemctl reload caddy`));
  }
  // Keep the live release and the two newest others, for a quick manual rollback.
  steps.push(root(`cd ${o.appDir}/releases && ls -1t | grep -v -x -e ${opts.releaseId} | grep -v -e "[.]tmp$" | tail -n +3 | xargs -r rm -rf --`));
  return steps;
}

/** Every staged file must still be there: a staging directory cleaned since the upload is not re-sent by itself. */
function stagedFilesCheck(files: readonly string[], stagingDir: string, service: string): string {
  return `missing=""; for f in ${files.join(" ")}; do [ -f "$f" ] || missing="$missing $f"; done; if [ -n "$missing" ]; then echo "${service}: staged file(s)$missing missing: ${stagingDir} was cleaned after the upload; stage the release again (docs/INFRA.md, metadata server)" >&2; false; fi`;
}

/**
 * The host's `nodePath` must run the Node major, and be on the `<platform>-<arch>`, the bundle
 * was built with (a bundle without `builtWith.platform` is checked for the major only). Runs as
 * the login user (it only reads the staged package.json); the script is in double quotes, so it
 * has no `"`, `$`, `!` or backquote.
 */
function nodeCheckStep(nodePath: string, bundlePackage: string, service: string): string {
  const script = [
    "const w=require(process.argv[1]).builtWith,built=w.node,host=process.versions.node,b=built.split('.')[0],h=host.split('.')[0],p=process.platform+'-'+process.arch;",
    `if(w.platform&&w.platform!==p){console.error('${service}: the bundle was built on '+w.platform+' and its native addon (better-sqlite3) is for that platform, but this host is '+p+'; build the bundle on a '+p+' machine');process.exit(1)}`,
    "if(b===h)process.exit(0);",
    `console.error('${service}: the bundle was built with Node '+built+' and its native addon (better-sqlite3) is for Node '+b+', but ${nodePath} on this host is Node '+host+'; install Node '+b+' on the host (deploy option nodePath names its binary) or build the bundle with Node '+h);`,
    "process.exit(1)",
  ].join("");
  return `if [ -x ${nodePath} ]; then ${nodePath} -e "${script}" ${bundlePackage}; else echo "${service}: ${nodePath} is not an executable on this host; install there the Node major the bundle was built with (builtWith.node in its package.json) or set the deploy option nodePath" >&2; false; fi`;
}
