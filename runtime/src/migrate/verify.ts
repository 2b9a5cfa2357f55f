/**
 * The `--verify` half of `cloudsync migrate`: both servers described collection by collection
 * (document count, normalized index specs, SHA-256 of the documents in `_id` order) and compared,
 * one table row per collection.
 */
import { compareDescriptions, describeDatabase, type CollectionDescription, type DescriptionDifference } from "../mongo/compare.js";
import { InterruptedError } from "../errors.js";
import { redactUri, type Secret } from "../secret.js";

/** One row of the verification table. */
export interface VerifiedCollection {
  readonly ns: string;
  readonly sourceCount: number;
  /** Absent when the collection is missing from the target. */
  readonly targetCount?: number;
  readonly indexesOk: boolean;
  readonly contentOk: boolean;
  readonly ok: boolean;
}

/** The outcome of `verifyMigration`; `ok` only when no difference was found. */
export interface MigrationVerification {
  readonly collections: VerifiedCollection[];
  readonly differences: DescriptionDifference[];
  readonly ok: boolean;
}

/**
 * Describes `namespaces` on both servers and compares them. A collection absent on either side
 * describes as empty with no indexes, so one present only in the source shows as a count and
 * content difference. Differences are returned, never thrown; throws RemoteError (`mongodb
 * describe <ns>`) when a server fails. When `signal` fires it rejects, once the server being
 * described has answered, with an InterruptedError saying that nothing was compared.
 */
export async function verifyMigration(from: Secret, to: Secret, namespaces: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<MigrationVerification> {
  const stopIfAborted = (): void => {
    if (opts.signal?.aborted) throw new InterruptedError(`comparing ${redactUri(from.reveal())} with ${redactUri(to.reveal())} interrupted: nothing was compared (the comparison writes nothing); run migrate --verify-only to compare`, { cause: opts.signal.reason });
  };
  stopIfAborted();
  const source = await describeDatabase(from, namespaces);
  stopIfAborted();
  const target = await describeDatabase(to, namespaces);
  stopIfAborted();
  return compareMigration(source, target);
}

/** The pure comparison behind `verifyMigration`, rows in the order of `source`. */
export function compareMigration(source: readonly CollectionDescription[], target: readonly CollectionDescription[]): MigrationVerification {
  const differences = compareDescriptions(source, target);
  const byNs = new Map(target.map((d) => [d.ns, d]));
  const collections = source.map((s): VerifiedCollection => {
    const t = byNs.get(s.ns);
    const mine = differences.filter((d) => d.ns === s.ns);
    const indexesOk = !mine.some((d) => d.what === "indexes" || d.what === "missing");
    const contentOk = !mine.some((d) => d.what === "content" || d.what === "missing");
    return { ns: s.ns, sourceCount: s.count, ...(t ? { targetCount: t.count } : {}), indexesOk, contentOk, ok: mine.length === 0 };
  });
  return { collections, differences, ok: differences.length === 0 };
}
