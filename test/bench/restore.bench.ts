/**
 * The restore-side benchmark of issue 13 item 4: `cloudsync verify` and `cloudsync restore --to
 * dir://` of a backup, as processes, against what a shell user does with stock tools.
 *
 *   npm run build && npm run bench:restore                        (1 GiB)
 *   npm run bench:restore -- --size 256M --rounds 2               (a quick run)
 *
 * Generates a demo archive, backs it up twice with `cloudsync backup` (gzip and zstd, age
 * recipient), then runs, alternating, `--rounds` times:
 *   cloudsync verify gzip / zstd     `cloudsync verify <id> --from DIR -i identity --no-record`
 *                                    (reads the object, checks size and SHA-256, decrypts,
 *                                    decompresses, parses every document and checks each CRC);
 *   cloudsync restore gzip / zstd    `cloudsync restore <id> --from DIR -i identity --to dir://OUT`
 *                                    (the same, writing a mongorestore-ready dump directory);
 *   age -d | gunzip | sha256sum      and `age -d | zstd -d | sha256sum`: decrypt and decompress,
 *                                    the least a shell user does to check a backup.
 * Figures from GNU time as in bench:pipeline. Prints PASS/FAIL for "at least as fast as the shell
 * peer" and peak RSS ≤ 128 MiB; exits 0 unless BENCH_STRICT=1.
 */
import { readFile, rm } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateAgeIdentity, writeIdentityFile } from "../../runtime/src/crypto/index.js";
import { best, check, CLI, generateInput, has, loadAverage, MiB, parseArgs, printHeader, row, timedScript, type Outcome } from "./harness.js";

const RSS_TARGET_MIB = 128;
const NODE = `"${process.execPath}" "${CLI}"`;

async function main(): Promise<void> {
  const { sizes, rounds } = parseArgs(process.argv.slice(2), "1G");
  if (!has("/usr/bin/time")) throw new Error("GNU time (/usr/bin/time, Debian package \"time\") is required: it reports each process's peak RSS");
  printHeader(`npm run bench:restore -- ${process.argv.slice(2).join(" ")}`);
  const dir = await mkdtemp(join(tmpdir(), "cloudsync-bench-restore-"));
  let ok = true;
  try {
    const { identity, recipient } = generateAgeIdentity();
    const identityFile = join(dir, "identity.txt");
    await writeIdentityFile(identityFile, identity, recipient);
    for (const bytes of sizes) {
      const input = join(dir, "input.archive");
      const mib = (await generateInput(input, bytes)) / MiB;
      const backups: Record<string, { id: string; file: string; dest: string }> = {};
      for (const compress of ["gzip", "zstd"]) {
        const dest = join(dir, `dest-${compress}`);
        await timedScript(dir, `backup-${compress}`, `@T1 ${NODE} backup --from-archive "$1" --to "$2" --compress ${compress} -r "$3" --json > "$2.json"`, [input, dest, recipient]);
        const made = JSON.parse(await readFile(`${dest}.json`, "utf8")) as { id: string; key: string };
        backups[compress] = { id: made.id, file: join(dest, made.key), dest };
      }
      await rm(input, { force: true });
      const runs: Record<string, Outcome[]> = {};
      // Each run as it ends (a long run shows progress), then the summary.
      const add = (name: string, o: Outcome): void => {
        console.log(`  run  ${row(name, mib, o)}  (load ${loadAverage()})`);
        (runs[name] ??= []).push(o);
      };
      for (let round = 0; round < rounds; round += 1) {
        for (const compress of ["gzip", "zstd"] as const) {
          const b = backups[compress]!;
          add(`cloudsync verify ${compress}`, await timedScript(dir, "verify", `@T1 ${NODE} verify "$1" --from "$2" -i "$3" --no-record --json > /dev/null`, [b.id, b.dest, identityFile]));
          const decompress = compress === "gzip" ? "gunzip -c" : "zstd -d -q -c";
          if (has("age")) add(`age -d | ${compress} -d`, await timedScript(dir, "peer", `@T1 age -d -i "$2" "$1" | @T2 ${decompress} | @T3 sha256sum > /dev/null`, [b.file, identityFile]));
          const out = join(dir, "restored");
          await rm(out, { recursive: true, force: true });
          add(`cloudsync restore ${compress}`, await timedScript(dir, "restore", `@T1 ${NODE} restore "$1" --from "$2" -i "$3" --to "dir://$4" --json > /dev/null`, [b.id, b.dest, identityFile, out]));
          await rm(out, { recursive: true, force: true });
        }
      }
      if (!has("age")) console.log("shell peers skipped: age is not installed (apt-get install age)");
      const outcome = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, best(v)]));
      for (const [name, o] of Object.entries(outcome)) console.log(row(name, mib, o));
      if (rounds > 1) console.log(`best of ${rounds} alternating rounds (peak RSS: the highest of the rounds)`);
      for (const compress of ["gzip", "zstd"]) {
        const peer = outcome[`age -d | ${compress} -d`];
        for (const what of ["verify", "restore"]) {
          const o = outcome[`cloudsync ${what} ${compress}`]!;
          if (peer) ok = check(`speed cloudsync ${what} ${compress} / age -d | ${compress} -d | sha256sum`, peer.seconds / o.seconds, 1) && ok;
          ok = check(`peak RSS cloudsync ${what} ${compress}`, o.peakRssMiB, RSS_TARGET_MIB, " MiB", true) && ok;
        }
      }
      for (const b of Object.values(backups)) await rm(b.dest, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`load average at the end ${loadAverage()}`);
  if (!ok && process.env.BENCH_STRICT === "1") process.exitCode = 1;
}

await main();
