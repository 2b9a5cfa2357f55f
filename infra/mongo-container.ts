/**
 * Pure builders for the MongoDB container: the mongod command line, the health check that also
 * initiates the single-node replica set, and the paths secrets are mounted at.
 */

/** Where secret files are uploaded inside containers (never env, never args: `docker inspect` shows both). */
export const SECRETS_DIR = "/run/secrets";
/** Root password file; the official image reads it through `MONGO_INITDB_ROOT_PASSWORD_FILE`. */
export const ROOT_PASSWORD_FILE = `${SECRETS_DIR}/mongo-root-password`;
/** Replica-set keyfile (internal auth between members; required once auth and --replSet meet). */
export const KEYFILE = `${SECRETS_DIR}/mongo-keyfile`;
/**
 * uid/gid of the `mongodb` user in the official image: the keyfile and the root password file must
 * be owned by it, mode 0400 (the entrypoint reads the password file after switching to that user).
 */
export const MONGODB_UID = "999";
/** Port mongod listens on inside the container. */
export const MONGOD_PORT = 27017;

/**
 * The container command: `mongod` as a member of replica set `replSet` with keyfile auth,
 * listening on all interfaces *inside* the container (the host-side bind address is what limits
 * exposure). The official entrypoint drops `--replSet` during its first-start user creation and
 * adds `--auth`, so the root user exists before the set is initiated.
 */
export function mongodCommand(replSet: string): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(replSet)) throw new Error(`mongod replSet: invalid name ${JSON.stringify(replSet)}`);
  return ["mongod", "--replSet", replSet, "--keyFile", KEYFILE, "--bind_ip_all", "--port", String(MONGOD_PORT)];
}

/**
 * A mongosh script (run with `--nodb`) that authenticates as `user` with the password read from
 * `ROOT_PASSWORD_FILE`, exits 0 when the replica set reports ok, and otherwise — only when the
 * server says the set was never initiated (code 94, NotYetInitialized) — initiates it with one
 * member `localhost:<port>` and exits 1 so the next probe confirms. Idempotent: an initiated set
 * is never re-initiated. The password never appears in the script or the process arguments.
 */
export function replicaSetProbeScript(o: { replSet: string; user: string }): string {
  const cfg = JSON.stringify({ _id: o.replSet, members: [{ _id: 0, host: `localhost:${MONGOD_PORT}` }] });
  return [
    `const pw = require("fs").readFileSync(${JSON.stringify(ROOT_PASSWORD_FILE)}, "utf8").trim();`,
    `const admin = new Mongo("mongodb://127.0.0.1:${MONGOD_PORT}/?directConnection=true").getDB("admin");`,
    `admin.auth(${JSON.stringify(o.user)}, pw);`,
    `let s; try { s = admin.runCommand({ replSetGetStatus: 1 }); } catch (e) { s = e; }`,
    `if (s.ok === 1) quit(0);`,
    `if (s.code === 94) admin.runCommand({ replSetInitiate: ${cfg} });`,
    `quit(1);`,
  ].join(" ");
}

/** Docker health check (CMD form, no shell) running `replicaSetProbeScript`. */
export function mongoHealthcheck(o: { replSet: string; user: string }): { tests: string[]; interval: string; timeout: string; retries: number; startPeriod: string } {
  return { tests: ["CMD", "mongosh", "--nodb", "--quiet", "--eval", replicaSetProbeScript(o)], interval: "10s", timeout: "10s", retries: 6, startPeriod: "40s" };
}

/**
 * The connection string the backup agent uses: `host:port` on the shared Docker network with
 * `directConnection=true` (the set's only member is advertised as `localhost`, which is right
 * for host clients but not for other containers). Contains the password: keep it a Pulumi secret
 * and hand it to containers as a file.
 */
export function agentMongoUri(o: { host: string; user: string; password: string; replSet: string }): string {
  return `mongodb://${encodeURIComponent(o.user)}:${encodeURIComponent(o.password)}@${o.host}:${MONGOD_PORT}/?authSource=admin&directConnection=true&replicaSet=${o.replSet}`;
}
