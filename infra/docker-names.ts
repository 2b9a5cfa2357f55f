/**
 * Names of Docker objects (volumes, networks, containers) a stack creates. Docker names are
 * global to the daemon and a `docker.Volume` whose name already exists is adopted as it is (and
 * MongoDB's entrypoint then skips initialisation of a non-empty data volume), so every name a
 * stack gives Docker carries the project and the stack: `cloudsync-<stack>-`.
 */

/**
 * The prefix of every Docker name stack `stack` creates, `cloudsync-<stack>-`. Throws `Error`
 * for a stack name Docker would refuse in a volume name (Pulumi allows a wider alphabet).
 */
export function dockerNamePrefix(stack: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack)) throw new Error(`docker names: stack name ${JSON.stringify(stack)} cannot be part of a Docker volume name (letters, digits, _ . -)`);
  return `cloudsync-${stack}-`;
}
