import { ConfigError, RemoteError } from "../errors.js";
import type { Secret } from "../secret.js";
import { openMongoSource, changeFromEvent, type MongoModelSource, type MongoSourceOptions } from "./mongo-source.js";
import { MAX_BATCH_ITEMS, type PublicModel } from "./public-schema.js";
import { pushMetadata, pushUrl, type PushOptions } from "./push-client.js";
import { loadState, modelHash, saveState, emptyState, type SyncState } from "./sync-state.js";
import { checkPublicModel } from "./validate.js";

/** Options of `syncMetadata`. */
export interface SyncMetadataOptions {
  /** `CLOUD_SYNC_ENABLED`. false: nothing is read or sent, and the log says so. */
  readonly enabled: boolean;
  /** `CLOUD_SYNC_ENDPOINT`: the server's base URL (or the full push URL). */
  readonly endpoint: string;
  /** `CLOUD_SYNC_API_KEY`: the shared push secret. */
  readonly apiKey: Secret;
  /** The catalogue: MongoDB (projected to public fields) or any iterable of public models (tests, other sources). */
  readonly source: AsyncIterable<PublicModel> | MongoSourceOptions;
  /** State file (acknowledged hashes, resume token); written atomically, mode 0600. */
  readonly statePath: string;
  /** Resync: push every model, and tombstone every id the server lists that the source lacks. */
  readonly full?: boolean;
  /** Keep following changes until `signal` aborts (MongoDB sources only). */
  readonly watch?: boolean;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** Models per push (≤ 1000). Default 500. */
  readonly batchSize?: number;
  /** Polling interval of the fallback watcher in ms. Default 5000. */
  readonly pollIntervalMs?: number;
  /** The polling watcher diffs the whole catalogue (to find deletions) every this many polls. Default 12. */
  readonly fullScanEvery?: number;
  /** Retry settings of each push. */
  readonly push?: Pick<PushOptions, "attempts" | "backoffMs" | "timeoutMs">;
}

/** What a sync did. */
export interface SyncResult {
  readonly enabled: boolean;
  /** `disabled`, `once`, or the watcher used: `change-stream` or `polling`. */
  readonly mode: "disabled" | "once" | "change-stream" | "polling";
  /** Models sent (new or changed). */
  readonly pushed: number;
  /** Tombstones sent. */
  readonly deleted: number;
  /** Models skipped because the server already has them (hash unchanged). */
  readonly unchanged: number;
  /** Source documents skipped because they fail the public schema (each is logged). */
  readonly invalid: number;
  /** Pushes made. */
  readonly batches: number;
}

/**
 * Pushes the public part of the model catalogue to the metadata server, sending only what
 * changed since the last acknowledged push (per-id hashes in `statePath`) and tombstones for ids
 * that left the source. The state advances only after the server acknowledges a batch, so an
 * interrupted sync resumes where it stopped and a retried batch is never applied twice (same
 * idempotency key). With `watch`, follows a change stream (resume token persisted), or, where
 * change streams are unsupported, polls by `updatedAt`; it logs which, and returns when `signal`
 * aborts. Throws `ConfigError` for an unusable endpoint or a watch without MongoDB, `AuthError`
 * on 401, `RemoteError` when the server refuses a batch or stays unreachable after retries.
 */
export async function syncMetadata(opts: SyncMetadataOptions): Promise<SyncResult> {
  const log = opts.log ?? (() => undefined);
  if (!opts.enabled) {
    log("metadata sync: disabled (CLOUD_SYNC_ENABLED=false); no network call made");
    return { enabled: false, mode: "disabled", pushed: 0, deleted: 0, unchanged: 0, invalid: 0, batches: 0 };
  }
  const url = pushUrl(opts.endpoint).toString();
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_ITEMS) throw new ConfigError("batchSize", `must be 1-${MAX_BATCH_ITEMS}`);
  const isIterable = Symbol.asyncIterator in (opts.source as object);
  if (opts.watch && isIterable) throw new ConfigError("--watch", "needs a MongoDB source (set MONGODB_URI)");

  let state = loadState(opts.statePath, url);
  if (state.endpoint !== url) {
    log(`metadata sync: state was for ${state.endpoint}; starting afresh for ${url}`);
    state = emptyState(url);
  }
  const totals = { pushed: 0, deleted: 0, unchanged: 0, invalid: 0, batches: 0 };
  const push = async (models: PublicModel[], deleted: string[]): Promise<void> => {
    const r = await pushMetadata(url, opts.apiKey, { models, deleted }, { ...opts.push, signal: opts.signal, log });
    totals.batches++;
    totals.pushed += models.length;
    totals.deleted += deleted.length;
    for (const m of models) state.acked[m.id] = modelHash(m);
    for (const id of deleted) delete state.acked[id];
    saveState(opts.statePath, state);
    log(`metadata sync: pushed ${models.length} model(s), ${deleted.length} tombstone(s); server version ${r.version}${r.replayed ? " (replayed)" : ""}`);
  };

  /** Diffs `models` against the acked hashes and pushes changes; `complete` scans also send tombstones. */
  const diff = async (models: AsyncIterable<PublicModel>, complete: boolean, full: boolean): Promise<string | undefined> => {
    const seen = new Set<string>();
    let batch = new Map<string, PublicModel>();
    let newest: string | undefined;
    for await (const m of models) {
      opts.signal?.throwIfAborted();
      const problem = checkPublicModel(m);
      if (problem) {
        totals.invalid++;
        log(`metadata sync: skipped ${typeof m.id === "string" ? `model ${m.id}` : "a document without an id"}: ${problem}`);
        continue;
      }
      seen.add(m.id);
      if (!newest || Date.parse(m.updatedAt) > Date.parse(newest)) newest = m.updatedAt;
      if (!full && state.acked[m.id] === modelHash(m)) {
        totals.unchanged++;
        continue;
      }
      batch.set(m.id, m);
      if (batch.size >= batchSize) {
        await push([...batch.values()], []);
        batch = new Map();
      }
    }
    if (batch.size > 0) await push([...batch.values()], []);
    if (complete) {
      const gone = new Set(Object.keys(state.acked).filter((id) => !seen.has(id)));
      if (full) for (const id of await serverIds(url, opts.signal)) if (!seen.has(id)) gone.add(id);
      const ids = [...gone];
      for (let i = 0; i < ids.length; i += MAX_BATCH_ITEMS) await push([], ids.slice(i, i + MAX_BATCH_ITEMS));
    }
    return newest;
  };

  if (isIterable) {
    await diff(opts.source as AsyncIterable<PublicModel>, true, Boolean(opts.full));
    return { enabled: true, mode: "once", ...totals };
  }

  const source = await openMongoSource(opts.source as MongoSourceOptions);
  try {
    if (!opts.watch) {
      await diff(source.scan(), true, Boolean(opts.full));
      return { enabled: true, mode: "once", ...totals };
    }
    // Open the stream before the initial scan, so nothing changed in between is missed.
    const opened = await source.openChangeStream(state.resumeToken);
    if ("stream" in opened) {
      log("metadata sync: watching with a MongoDB change stream (resume token persisted)");
      await diff(source.scan(), true, Boolean(opts.full));
      await followChangeStream(opened.stream, source, state, diff, { ...opts, batchSize, save: () => saveState(opts.statePath, state) });
      return { enabled: true, mode: "change-stream", ...totals };
    }
    const every = opts.pollIntervalMs ?? 5000;
    log(`metadata sync: change streams unsupported here (${opened.unsupported}); polling by updatedAt every ${every / 1000} s`);
    state.lastUpdatedAt = (await diff(source.scan(), true, Boolean(opts.full))) ?? state.lastUpdatedAt;
    saveState(opts.statePath, state);
    for (let poll = 1; !opts.signal?.aborted; poll++) {
      if (!(await pause(every, opts.signal))) break;
      const complete = poll % (opts.fullScanEvery ?? 12) === 0;
      const newest = await diff(complete ? source.scan() : source.changedSince(state.lastUpdatedAt), complete, false);
      if (newest && (!state.lastUpdatedAt || Date.parse(newest) > Date.parse(state.lastUpdatedAt))) {
        state.lastUpdatedAt = newest;
        saveState(opts.statePath, state);
      }
    }
    return { enabled: true, mode: "polling", ...totals };
  } finally {
    await source.close();
  }
}

async function followChangeStream(
  stream: import("mongodb").ChangeStream,
  source: MongoModelSource,
  state: SyncState,
  diff: (models: AsyncIterable<PublicModel>, complete: boolean, full: boolean) => Promise<string | undefined>,
  opts: { signal?: AbortSignal; batchSize: number; save: () => void },
): Promise<void> {
  const onAbort = (): void => void stream.close();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let pending: PublicModel[] = [];
    let rescan = false;
    while (!opts.signal?.aborted) {
      let ev: import("mongodb").Document | null;
      try {
        ev = await stream.tryNext();
      } catch (err) {
        if (opts.signal?.aborted) break;
        throw err;
      }
      if (ev) {
        const change = changeFromEvent(ev);
        if (change?.kind === "upsert") pending.push(change.model);
        if (change?.kind === "rescan") rescan = true;
        if (pending.length < opts.batchSize) continue;
      }
      // Idle (or a full batch): push what accumulated, then persist the token that covers it.
      if (pending.length > 0) await diff(iterate(pending), false, false);
      if (rescan) await diff(source.scan(), true, false);
      pending = [];
      rescan = false;
      if (stream.resumeToken) {
        state.resumeToken = stream.resumeToken;
        opts.save();
      }
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await stream.close();
  }
}

async function* iterate<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

/** Ids the server currently lists (public GETs, keyset pages of 200). */
async function serverIds(push: string, signal?: AbortSignal): Promise<string[]> {
  const base = push.replace(/\/api\/sync\/metadata$/, "");
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await fetch(`${base}/api/models?limit=200&sort=id${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal });
    if (!res.ok) throw new RemoteError(`metadata list ${base}/api/models`, `HTTP ${res.status} while listing the server's models for --full`);
    const page = (await res.json()) as { items: Array<{ id: string }>; nextCursor: string | null };
    for (const m of page.items) ids.push(m.id);
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** Waits `ms`; false when `signal` aborted first. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
