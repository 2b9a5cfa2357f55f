/**
 * Running the `gpg` binary: one-shot commands with buffered output, throwaway home directories,
 * and the status lines gpg prints for machines ("[GNUPG:] KEYWORD …", `--status-fd`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../errors.js";

/**
 * Options every gpg call gets: no prompts, no terminal, and no network — without
 * `--no-auto-key-locate` gpg may look a recipient up in WKD/keyservers.
 */
export const GPG_BASE_ARGS = ["--batch", "--no-tty", "--no-auto-key-locate", "--no-auto-key-retrieve", "--no-permission-warning", "--status-fd", "2"];

/** The error for a machine without gpg. */
export function gpgMissing(cause?: unknown): ConfigError {
  return new ConfigError("gpg", "the gpg binary was not found; install GnuPG (apt-get install gnupg) to use OpenPGP encryption", { cause });
}

/** Maps a spawn failure of gpg: ENOENT becomes gpgMissing(), anything else is returned as is. */
export function gpgSpawnError(err: Error): Error {
  return (err as NodeJS.ErrnoException).code === "ENOENT" ? gpgMissing(err) : err;
}

/**
 * Spawns gpg with the base options (and `--homedir home` when given). `extraFds` adds pipes
 * after stderr (fd 3, 4, …), e.g. for `--passphrase-fd 3`.
 */
export function spawnGpg(args: readonly string[], home?: string, extraFds = 0): ChildProcess {
  const homeArgs = home ? ["--homedir", home] : [];
  const stdio: ("pipe" | "ignore")[] = ["pipe", "pipe", "pipe"];
  for (let i = 0; i < extraFds; i++) stdio.push("pipe");
  return spawn("gpg", [...homeArgs, ...GPG_BASE_ARGS, ...args], { stdio });
}

/** Result of a finished gpg run. */
export interface GpgResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  /** Human-readable messages and status lines interleaved. */
  readonly stderr: string;
}

/** Runs gpg to completion with `input` on stdin. Rejects only with gpgMissing(); a non-zero exit is in `code`. */
export function runGpg(args: readonly string[], opts: { home?: string; input?: string | Buffer } = {}): Promise<GpgResult> {
  return new Promise((resolve, reject) => {
    const child = spawnGpg(args, opts.home);
    const out: Buffer[] = [];
    let err = "";
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString("utf8")));
    child.stdin!.on("error", () => undefined);
    child.on("error", (e) => reject(gpgSpawnError(e)));
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin!.end(opts.input ?? "");
  });
}

/** The status keywords ("NO_SECKEY", "DECRYPTION_OKAY", …) in gpg's stderr. */
export function statusKeywords(stderr: string): Set<string> {
  const out = new Set<string>();
  for (const line of stderr.split("\n")) if (line.startsWith("[GNUPG:] ")) out.add(line.slice(9).split(" ")[0]!);
  return out;
}

/** gpg's own messages (status lines removed), last few lines, for error text. Never contains key material. */
export function gpgMessages(stderr: string): string {
  const lines = stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("[GNUPG:] "))
    .map((l) => l.trim());
  return lines.slice(-3).join("; ");
}

/** Creates a private (0700) throwaway GNUPGHOME. */
export function makeGpgHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), "cloudsync-gpg-"));
}

/** Stops any agent gpg started for `home`, then removes it. Never throws. */
export async function removeGpgHome(home: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const c = spawn("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
    c.on("error", () => resolve());
    c.on("close", () => resolve());
  });
  await rm(home, { recursive: true, force: true }).catch(() => undefined);
}
