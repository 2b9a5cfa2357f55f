/**
 * OpenPGP keys for process tests, made by the real gpg in a throwaway GnuPG home: the armored
 * public key (for `--gpg-recipient FILE`) and secret key (for `-i FILE`) written as files.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasBinary } from "../crypto/support.js";

/** Why gpg tests cannot run here, or undefined when they can. */
export const GPG_SKIP = hasBinary("gpg") && hasBinary("gpgconf") ? undefined : "gpg is not installed (apt-get install gnupg)";

/** A key pair on disk. */
export interface GpgKeyFiles {
  readonly fingerprint: string;
  readonly publicKeyFile: string;
  readonly secretKeyFile: string;
}

/**
 * Generates an unprotected key pair `name@cloudsync.test` in a new GnuPG home under `dir` and
 * writes `<name>.pub.asc` and `<name>.sec.asc` beside it; the home's agent is stopped afterwards.
 */
export function makeGpgKey(dir: string, name: string): GpgKeyFiles {
  const home = join(dir, `gnupg-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const gpg = (args: string[]): string =>
    execFileSync("gpg", ["--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", "--no-auto-key-locate", ...args], { stdio: ["ignore", "pipe", "ignore"] }).toString();
  const email = `${name}@cloudsync.test`;
  try {
    gpg(["--quick-gen-key", `Cloudsync ${name} <${email}>`, "future-default", "default", "never"]);
    const fingerprint = gpg(["--with-colons", "--list-keys", email]).split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
    const publicKeyFile = join(dir, `${name}.pub.asc`);
    const secretKeyFile = join(dir, `${name}.sec.asc`);
    writeFileSync(publicKeyFile, gpg(["--armor", "--export", fingerprint]));
    writeFileSync(secretKeyFile, gpg(["--armor", "--export-secret-keys", fingerprint]), { mode: 0o600 });
    return { fingerprint, publicKeyFile, secretKeyFile };
  } finally {
    execFileSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
  }
}
