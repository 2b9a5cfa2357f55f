/**
 * The backup benchmark of issue 13 item 4: it times what ships, the `cloudsync` process.
 *
 *   npm run build && npm run bench:pipeline                       (1 GiB and 4 GiB)
 *   npm run bench:pipeline -- --size 256M --rounds 2              (a quick run)
 *
 * For each size, generates a demo mongodump archive of realistic ~1 KB documents once, then
 * runs, alternating, `--rounds` times (default 1):
 *   cloudsync gzip / zstd  `node bin/cloudsync.js backup --from-archive F --to DIR -r age1… --compress …`;
 *   gzip -1 | age          `gzip -1 | age -r … | tee file | sha256sum` (what mgob-style tools do);
 *   pigz -1 | age          the same with pigz, the best a shell user does with gzip on every core;
 *   zstd -1 -T0 | age      the same with zstd on every core;
 *   restic                 `restic backup --stdin` into a fresh repository.
 * Then, once each, the memory of the other modes: none + age, gzip + passphrase (age scrypt),
 * gzip + OpenPGP (gpg). Every figure comes from GNU time (`/usr/bin/time -f "%M %U %S"`): wall
 * time of the whole process, peak RSS from the kernel (summed over the processes of a shell
 * pipeline), user + system CPU. A peer whose program is missing is skipped, saying so. Finally our
 * artifacts are decrypted with the age CLI and decompressed with gunzip / zstd -d, and must equal
 * the input. Prints PASS/FAIL against the targets; exits 0 unless BENCH_STRICT=1.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { generateAgeIdentity, writeIdentityFile } from "../../runtime/src/crypto/index.js";
import { best, check, CLI, generateInput, has, loadAverage, MiB, parseArgs, printHeader, row, timedScript, type Outcome } from "./harness.js";

const TARGETS = { gzipVsGzip: 2.0, gzipVsPigz: 0.9, zstdVsGzip: 4, zstdVsRestic: 2, zstdVsZstd: 0.8, rssMiB: 128 };

interface Keys {
  readonly recipient: string;
  readonly identityFile: string;
  readonly passphraseFile: string;
  readonly gpgPublicKey?: string;
}

/** One `cloudsync backup` process; returns the outcome and the path of the artifact it stored. */
async function ours(dir: string, input: string, name: string, flags: string[]): Promise<Outcome & { artifact: string }> {
  const dest = join(dir, `dest-${name}`);
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest);
  const o = await timedScript(dir, name, `@T1 "${process.execPath}" "${CLI}" backup --from-archive "$1" --to "$2" --json "\${@:3}" > "$2.json"`, [input, dest, ...flags]);
  const data = join(dest, "data");
  const [file] = await readdir(data);
  return { ...o, artifact: join(data, file as string) };
}

/** `<compressor> | age -r … | tee file | sha256sum`. */
function shellPeer(dir: string, input: string, name: string, compressor: string, recipient: string): Promise<Outcome> {
  return timedScript(dir, name, `@T1 ${compressor} < "$1" | @T2 age -r "$2" | @T3 tee "$3" | @T4 sha256sum > "$3.sha256"`, [input, recipient, join(dir, `${name}.out`)]);
}

async function restic(dir: string, input: string): Promise<Outcome> {
  const repo = join(dir, "restic-repo");
  await rm(repo, { recursive: true, force: true });
  const env = { ...process.env, RESTIC_PASSWORD: "benchmark-only", RESTIC_CACHE_DIR: join(dir, "restic-cache") };
  execFileSync("restic", ["-r", repo, "init", "--quiet"], { env, stdio: "ignore" });
  return timedScript(dir, "restic", `@T1 restic -r "$2" backup --quiet --stdin --stdin-filename archive < "$1"`, [input, repo], env);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Decrypts `artifact` with the age CLI and decompresses it with `decompress`; true when it equals the input. */
function restoresExactly(artifact: string, identityFile: string, decompress: string, inputSha: string): boolean {
  const out = execFileSync("bash", ["-c", `set -o pipefail; age -d -i "$2" "$1" | ${decompress} | sha256sum`, "bash", artifact, identityFile], { encoding: "utf8" });
  return out.split(" ")[0] === inputSha;
}

async function makeKeys(dir: string): Promise<Keys> {
  const { identity, recipient } = generateAgeIdentity();
  const identityFile = join(dir, "identity.txt");
  await writeIdentityFile(identityFile, identity, recipient);
  const passphraseFile = join(dir, "passphrase.txt");
  await writeFile(passphraseFile, "benchmark passphrase, not a secret\n", { mode: 0o600 });
  let gpgPublicKey: string | undefined;
  if (has("gpg")) {
    const home = join(dir, "gnupg");
    await mkdir(home, { mode: 0o700 });
    const gpg = (args: string[]): string =>
      execFileSync("gpg", ["--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { stdio: ["ignore", "pipe", "ignore"] }).toString();
    gpg(["--quick-gen-key", "Cloudsync bench <bench@cloudsync.test>", "future-default", "default", "never"]);
    gpgPublicKey = join(dir, "bench.pub.asc");
    await writeFile(gpgPublicKey, gpg(["--armor", "--export", "bench@cloudsync.test"]));
    execFileSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
  }
  return { recipient, identityFile, passphraseFile, gpgPublicKey };
}

async function benchSize(dir: string, bytes: number, rounds: number, keys: Keys): Promise<boolean> {
  const input = join(dir, "input.archive");
  const size = await generateInput(input, bytes);
  const mib = size / MiB;
  const inputSha = await sha256(input);
  const age = ["-r", keys.recipient];
  const ready = { gzip: has("gzip") && has("age"), pigz: has("pigz") && has("age"), zstd: has("zstd") && has("age"), restic: has("restic") };
  for (const [peer, ok] of Object.entries(ready)) if (!ok) console.log(`${peer} peer skipped: ${peer} or age is not installed (apt-get install ${peer} age)`);

  const runs: Record<string, Outcome[]> = {};
  // Each run as it ends (a long run shows progress), then the summary.
  const add = (name: string, o: Outcome): void => {
    console.log(`  run  ${row(name, mib, o)}  (load ${loadAverage()})`);
    (runs[name] ??= []).push(o);
  };
  let gzipArtifact = "";
  let zstdArtifact = "";
  for (let round = 0; round < rounds; round += 1) {
    const g = await ours(dir, input, "cloudsync-gzip", ["--compress", "gzip", ...age]);
    gzipArtifact = g.artifact;
    add("cloudsync gzip", g);
    if (ready.gzip) add("gzip -1 | age", await shellPeer(dir, input, "gzip", "gzip -1 -c", keys.recipient));
    const z = await ours(dir, input, "cloudsync-zstd", ["--compress", "zstd", ...age]);
    zstdArtifact = z.artifact;
    add("cloudsync zstd", z);
    if (ready.pigz) add("pigz -1 | age", await shellPeer(dir, input, "pigz", "pigz -1 -c", keys.recipient));
    if (ready.zstd) add("zstd -1 -T0 | age", await shellPeer(dir, input, "zstd", "zstd -1 -T0 -q -c", keys.recipient));
    if (ready.restic) add("restic backup --stdin", await restic(dir, input));
  }
  // Memory in the other modes: once each, after the timed rounds.
  add("cloudsync none", await ours(dir, input, "cloudsync-none", ["--compress", "none", ...age]));
  add("cloudsync gzip+scrypt", await ours(dir, input, "cloudsync-scrypt", ["--compress", "gzip", "--passphrase-file", keys.passphraseFile]));
  add("cloudsync zstd+scrypt", await ours(dir, input, "cloudsync-zscrypt", ["--compress", "zstd", "--passphrase-file", keys.passphraseFile]));
  if (keys.gpgPublicKey) add("cloudsync gzip+openpgp", await ours(dir, input, "cloudsync-openpgp", ["--compress", "gzip", "--gpg-recipient", keys.gpgPublicKey]));
  else console.log("openpgp mode skipped: gpg is not installed");

  const outcome = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, best(v)]));
  for (const [name, o] of Object.entries(outcome)) console.log(row(name, mib, o));
  if (rounds > 1) console.log(`best of ${rounds} alternating rounds (peak RSS: the highest of the rounds)`);
  const sizes = { gzip: (await stat(gzipArtifact)).size, zstd: (await stat(zstdArtifact)).size };
  console.log(`output: gzip ${(sizes.gzip / MiB).toFixed(1)} MiB (ratio ${(size / sizes.gzip).toFixed(2)}), zstd ${(sizes.zstd / MiB).toFixed(1)} MiB (ratio ${(size / sizes.zstd).toFixed(2)})`);

  let ok = true;
  const ratio = (a: string, b: string): number | undefined => (outcome[a] && outcome[b] ? outcome[b].seconds / outcome[a].seconds : undefined);
  const target = (a: string, b: string, t: number): void => {
    const r = ratio(a, b);
    if (r === undefined) console.log(`SKIP ${a} / ${b}: ${b} did not run`);
    else ok = check(`speed ${a} / ${b}`, r, t) && ok;
  };
  target("cloudsync gzip", "gzip -1 | age", TARGETS.gzipVsGzip);
  target("cloudsync gzip", "pigz -1 | age", TARGETS.gzipVsPigz);
  target("cloudsync zstd", "gzip -1 | age", TARGETS.zstdVsGzip);
  target("cloudsync zstd", "restic backup --stdin", TARGETS.zstdVsRestic);
  target("cloudsync zstd", "zstd -1 -T0 | age", TARGETS.zstdVsZstd);
  for (const [name, o] of Object.entries(outcome)) if (name.startsWith("cloudsync")) ok = check(`peak RSS ${name}`, o.peakRssMiB, TARGETS.rssMiB, " MiB", true) && ok;
  if (has("age")) {
    const exact = restoresExactly(gzipArtifact, keys.identityFile, "gunzip", inputSha) && restoresExactly(zstdArtifact, keys.identityFile, "zstd -d -q", inputSha);
    ok = exact && ok;
    console.log(`${exact ? "PASS" : "FAIL"} our artifacts restore byte-exact with stock tools (age -d | gunzip, age -d | zstd -d)`);
  }
  await rm(input, { force: true });
  return ok;
}

async function main(): Promise<void> {
  const { sizes, rounds } = parseArgs(process.argv.slice(2), "1G,4G");
  if (!existsSync(CLI)) throw new Error(`${CLI} not found`);
  if (!has("/usr/bin/time")) throw new Error("GNU time (/usr/bin/time, Debian package \"time\") is required: it reports each process's peak RSS");
  printHeader(`npm run bench:pipeline -- ${process.argv.slice(2).join(" ")}`);
  const dir = await mkdtemp(join(tmpdir(), "cloudsync-bench-"));
  let ok = true;
  try {
    const keys = await makeKeys(dir);
    for (const bytes of sizes) ok = (await benchSize(dir, bytes, rounds, keys)) && ok;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`load average at the end ${loadAverage()}`);
  if (!ok && process.env.BENCH_STRICT === "1") process.exitCode = 1;
}

await main();
