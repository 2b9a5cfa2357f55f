/**
 * A real OpenSSH server on 127.0.0.1 for deploy tests: a throwaway host key, one Unix user with
 * key authentication only, SFTP (what @pulumi/command's CopyToRemote uses), and a client that
 * checks the host key strictly. Needs root (useradd,
 * sshd) and Debian's openssh-server; `sshdUnavailable()` names what is missing so a test can skip.
 */
import { execFileSync, execSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { freePort } from "./mongo-service.js";

export const SSHD = "/usr/sbin/sshd";

/** Why no test sshd can run here, or undefined. */
export function sshdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (useradd, sshd)";
  if (!existsSync(SSHD)) return `${SSHD} is absent (apt-get install -y --no-install-recommends openssh-server)`;
  return undefined;
}

/** A running test sshd and its one user. */
export interface TestSshd {
  readonly user: string;
  readonly home: string;
  readonly port: number;
  /** The client's private key file, and the key itself (for a Pulumi secret). */
  readonly keyFile: string;
  readonly privateKey: string;
  /** Runs `command` on the server as the user; throws on a non-zero exit. */
  ssh(command: string, input?: Buffer | string): string;
  /** Stops sshd and deletes the user and its home. */
  stop(): Promise<void>;
}

/** Creates `user` (recreated if it exists) and starts sshd for it on a free loopback port; files go in `dir`. */
export async function startSshd(dir: string, user: string): Promise<TestSshd> {
  const home = `/home/${user}`;
  // '*': no password, but not "locked" (sshd refuses locked accounts without PAM).
  execSync(`id -u ${user} >/dev/null 2>&1 && userdel -r ${user} >/dev/null 2>&1; useradd -m -s /bin/sh ${user} && usermod -p '*' ${user}`);
  execFileSync("mkdir", ["-p", "/run/sshd"]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/client_key`]);
  execSync(`install -d -m 0700 -o ${user} -g ${user} ${home}/.ssh && install -m 0600 -o ${user} -g ${user} ${dir}/client_key.pub ${home}/.ssh/authorized_keys`);
  const port = await freePort();
  writeFileSync(`${dir}/known_hosts`, `[127.0.0.1]:${port} ${readFileSync(`${dir}/host_key.pub`, "utf8")}`);
  writeFileSync(
    `${dir}/sshd_config`,
    [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${dir}/host_key`, `PidFile ${dir}/sshd.pid`, "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "UsePAM no", `AllowUsers ${user}`, "AuthorizedKeysFile .ssh/authorized_keys", "Subsystem sftp internal-sftp", ""].join("\n"),
  );
  const sshd: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", `${dir}/sshd_config`], { stdio: ["ignore", "ignore", "pipe"] });
  const ssh = (command: string, input?: Buffer | string): string =>
    execFileSync("ssh", ["-i", `${dir}/client_key`, "-p", String(port), "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${dir}/known_hosts`, "-o", "StrictHostKeyChecking=yes", `${user}@127.0.0.1`, command], { input, encoding: "utf8", timeout: 60_000 });
  const stop = async (): Promise<void> => {
    if (sshd.exitCode === null) {
      const exited = new Promise((r) => sshd.once("exit", r));
      sshd.kill("SIGTERM");
      await exited;
    }
    try {
      execSync(`userdel -r ${user}`, { stdio: "ignore" });
    } catch {
      // best effort: the user may already be gone
    }
  };
  for (let i = 0; i < 50; i++) {
    try {
      if (ssh("echo ready").trim() === "ready") return { user, home, port, keyFile: `${dir}/client_key`, privateKey: readFileSync(`${dir}/client_key`, "utf8"), ssh, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error("sshd did not accept the test key");
}
