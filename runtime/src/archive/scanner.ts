/**
 * The incremental parser behind readArchive and the verifier: a synchronous state machine fed
 * chunks of any size, split anywhere. It checks the whole structure (magic, header, prelude,
 * segments, EOF headers, terminators, document lengths) and the CRC-64 of every namespace,
 * without decoding documents. Document bytes are checksummed straight from the input chunks;
 * runs of whole documents inside one chunk are checksummed in one call, which is what makes the
 * verifier fast.
 */
import { IntegrityError, InternalError } from "../errors.js";
import { createCrc64, type Crc64 } from "./crc64.js";
import {
  MAGIC,
  MAX_DOCUMENT_SIZE,
  MIN_BSON_SIZE,
  TERMINATOR_INT32,
  decodeHeaderDocument,
  decodeMetadataDocument,
  decodeNamespaceHeader,
} from "./format.js";
import type { ArchiveEofEvent, ArchiveHeader, NamespaceMetadata } from "./types.js";
import { namespaceOf } from "./types.js";

/** Receives what the scanner finds, synchronously and in file order. */
export interface ScanSink {
  header(header: ArchiveHeader): void;
  metadata(meta: NamespaceMetadata): void;
  /**
   * Whole documents of one namespace. When absent, documents are only checksummed and never
   * sliced out, which is the verifier's zero-copy path.
   */
  documents?(ns: string, docs: Buffer[]): void;
  eof(event: ArchiveEofEvent): void;
}

/** Options of createArchiveScanner. */
export interface ScanOptions {
  /** Report a CRC mismatch through `eof` (crcOk false) instead of throwing. Default false. */
  tolerateCrc?: boolean;
  /**
   * Checksums computed elsewhere (crc64-deferred.ts): each namespace's bytes go to `create()`'s
   * Crc64 as usual, but are compared with the EOF headers only in `end()`, once every digest is
   * settled. Until then `eof` events carry the stored CRC as computed and `crcOk` true; a mismatch
   * makes `end()` throw the IntegrityError the EOF header would have. Not with `tolerateCrc`.
   */
  deferredCrc?: { create(): Crc64 };
}

/**
 * Feed with `push`, finish with `end`; both throw IntegrityError on the first problem, and
 * every call after that throws the same error again.
 */
export interface ArchiveScanner {
  push(chunk: Buffer): void;
  /** Declares the input complete; throws if it stopped anywhere but after the last EOF block. */
  end(): void;
  /** Bytes consumed so far. */
  readonly offset: number;
}

enum State {
  Magic,
  Header,
  Prelude,
  Block,
  Body,
  Document,
  EofTerminator,
}

enum Status {
  Unopened,
  Open,
  Closed,
}

interface Namespace {
  ns: string;
  status: Status;
  /** Must appear and be closed before the archive ends (false for timeseries names). */
  required: boolean;
  crc: Crc64;
  documents: number;
  bytes: number;
}

/** Creates a scanner that reports to `sink`. */
export function createArchiveScanner(sink: ScanSink, options: ScanOptions = {}): ArchiveScanner {
  if (options.deferredCrc && options.tolerateCrc) throw new InternalError("archive scanner: deferredCrc and tolerateCrc do not go together");
  const collect = sink.documents !== undefined;
  const newCrc = options.deferredCrc ? () => options.deferredCrc!.create() : createCrc64;
  /** EOF headers whose CRC is checked in end() (deferredCrc). */
  const deferredChecks: Array<{ entry: Namespace; stored: bigint; at: number }> = [];
  let state: State = State.Magic;
  /** Absolute offset of chunk[0] of the chunk being pushed. */
  let base = 0;
  let consumed = 0;

  // Small-structure assembly across chunks: the bytes gathered so far and how many are wanted.
  let small: Buffer = Buffer.alloc(4);
  let smallFill = 0;
  let smallWant = 4;
  let smallStart = 0;

  const namespaces = new Map<string, Namespace>();
  let optionalNames = 0;
  let remainingRequired = 0;
  let current: Namespace | undefined;

  // A document split across chunks.
  let docRemaining = 0;
  let docStart = 0;
  let docLength = 0;
  let docBuf: Buffer | undefined;
  let docFill = 0;
  let batch: Buffer[] = [];

  function fail(message: string): never {
    throw new IntegrityError(`archive: ${message}`);
  }

  function addNamespace(ns: string, required: boolean): void {
    if (namespaces.has(ns)) fail(`namespace ${ns} is listed twice in the prelude`);
    namespaces.set(ns, { ns, status: Status.Unopened, required, crc: newCrc(), documents: 0, bytes: 0 });
    if (required) remainingRequired++;
    else optionalNames++;
  }

  function flushBatch(): void {
    if (batch.length > 0 && current) {
      sink.documents!(current.ns, batch);
      batch = [];
    }
  }

  function where(): string {
    switch (state) {
      case State.Magic:
        return "in the magic number";
      case State.Header:
        return "in the archive header";
      case State.Prelude:
        return "in the collection metadata prelude";
      case State.Block:
        return "in a namespace header";
      case State.Body:
        return `in a segment of ${current?.ns}`;
      case State.Document:
        return `in a document of ${current?.ns} that starts at offset ${docStart}`;
      case State.EofTerminator:
        return `after the EOF header of ${current?.ns}`;
    }
  }

  /** A small structure (length word or control document) is complete in `buf`. */
  function onSmall(buf: Buffer, at: number): void {
    switch (state) {
      case State.Magic:
        if (!buf.equals(MAGIC)) fail(`not a mongodump archive: the magic number is missing at offset ${at}`);
        state = State.Header;
        return startSmall(4, at + 4);
      case State.Header:
      case State.Prelude:
      case State.Block:
        return onControlBytes(buf, at);
      case State.EofTerminator:
        if (buf.readInt32LE(0) !== TERMINATOR_INT32) {
          fail(`missing terminator after the EOF header of ${current?.ns} at offset ${at}`);
        }
        current = undefined;
        state = State.Block;
        return startSmall(4, at + 4);
      default:
        throw new InternalError(`archive scanner: unexpected state ${state}`);
    }
  }

  /** Header, prelude and block states read a length word, then the document it announces. */
  function onControlBytes(buf: Buffer, at: number): void {
    if (smallWant === 4 && buf.length === 4) {
      const len = buf.readInt32LE(0);
      if (len === TERMINATOR_INT32) {
        if (state === State.Prelude) {
          state = State.Block;
          return startSmall(4, at + 4);
        }
        if (state === State.Header) fail(`missing archive header at offset ${at}`);
        fail(`unexpected terminator at offset ${at} where a namespace header should start`);
      }
      if (state === State.Block && remainingRequired === 0 && optionalNames === 0 && namespaces.size > 0) {
        fail(`trailing data at offset ${at} after the last namespace's EOF header`);
      }
      if (len < MIN_BSON_SIZE || len > MAX_DOCUMENT_SIZE) {
        fail(`invalid BSON length ${len} at offset ${at} ${where()}`);
      }
      // Keep the length word: the document decoder wants the whole document.
      const whole = Buffer.allocUnsafe(len);
      buf.copy(whole, 0, 0, 4);
      small = whole;
      smallFill = 4;
      smallWant = len;
      smallStart = at;
      return;
    }
    if (buf[buf.length - 1] !== 0) fail(`BSON document at offset ${at} ${where()} does not end with a NUL byte`);
    const next = at + buf.length;
    switch (state) {
      case State.Header:
        sink.header(decodeHeaderDocument(buf, at));
        state = State.Prelude;
        return startSmall(4, next);
      case State.Prelude: {
        const meta = decodeMetadataDocument(buf, at);
        if (meta.type === "timeseries") {
          // Data of a timeseries collection travels as system.buckets.<name> (servers before 8.3)
          // or under its own name; neither is announced separately, so neither is required.
          addNamespace(namespaceOf(meta), false);
          addNamespace(`${meta.db}.system.buckets.${meta.collection}`, false);
        } else {
          addNamespace(namespaceOf(meta), true);
        }
        sink.metadata(meta);
        return startSmall(4, next);
      }
      case State.Block:
        return onNamespaceHeader(buf, at, next);
      default:
        throw new InternalError(`archive scanner: unexpected state ${state}`);
    }
  }

  function onNamespaceHeader(buf: Buffer, at: number, next: number): void {
    const h = decodeNamespaceHeader(buf, at);
    const ns = `${h.db}.${h.collection}`;
    const entry = namespaces.get(ns);
    if (!entry) fail(`namespace ${ns} at offset ${at} is not in the archive prelude`);
    if (entry.status === Status.Closed) {
      fail(h.eof ? `second EOF header for ${ns} at offset ${at}` : `segment of ${ns} at offset ${at} after its EOF header`);
    }
    if (entry.status === Status.Unopened) entry.status = Status.Open;
    current = entry;
    if (!h.eof) {
      state = State.Body;
      return startSmall(4, next);
    }
    entry.status = Status.Closed;
    if (entry.required) remainingRequired--;
    else optionalNames--;
    if (options.deferredCrc) {
      deferredChecks.push({ entry, stored: h.crc, at });
      sink.eof({ kind: "eof", ns, documents: entry.documents, bytes: entry.bytes, crc: h.crc, computedCrc: h.crc, crcOk: true });
    } else {
      const computed = BigInt.asIntN(64, entry.crc.digest());
      const crcOk = computed === h.crc;
      if (!crcOk && !options.tolerateCrc) crcMismatch(entry, h.crc, computed, at);
      sink.eof({ kind: "eof", ns, documents: entry.documents, bytes: entry.bytes, crc: h.crc, computedCrc: computed, crcOk });
    }
    state = State.EofTerminator;
    startSmall(4, next);
  }

  function crcMismatch(entry: Namespace, stored: bigint, computed: bigint, at: number): never {
    fail(`CRC mismatch for ${entry.ns} (EOF header at offset ${at}): stored ${stored}, computed ${computed} over ${entry.documents} documents`);
  }

  function startSmall(want: number, at: number): void {
    if (small.length < want || small.length > 64) small = Buffer.allocUnsafe(Math.max(want, 4));
    smallFill = 0;
    smallWant = want;
    smallStart = at;
  }

  /** A document's length word is known; the body starts at `bodyAt` (absolute, after the word). */
  function startSplitDocument(len: number, at: number, lenWord: Buffer): void {
    docStart = at;
    docLength = len;
    docRemaining = len - 4;
    current!.crc.update(lenWord, 0, 4);
    if (collect) {
      docBuf = Buffer.allocUnsafe(len);
      lenWord.copy(docBuf, 0, 0, 4);
      docFill = 4;
    }
    state = State.Document;
  }

  function finishDocument(lastByte: number): void {
    if (lastByte !== 0) fail(`document of ${current!.ns} at offset ${docStart} does not end with a NUL byte`);
    current!.documents++;
    current!.bytes += docLength;
    if (collect) {
      batch.push(docBuf!);
      docBuf = undefined;
    }
    state = State.Body;
    startSmall(4, docStart + docLength);
  }

  /**
   * The fast path: whole documents of the current segment inside `chunk` from `i`. Returns the
   * index where it stopped: at a terminator (consumed), or where a document or length word
   * crosses the chunk's end (not consumed).
   */
  function scanBody(chunk: Buffer, i: number): number {
    const ns = current!;
    const n = chunk.length;
    const runStart = i;
    while (i + 4 <= n) {
      const len = chunk.readInt32LE(i);
      if (len === TERMINATOR_INT32) {
        ns.crc.update(chunk, runStart, i);
        flushBatch();
        state = State.Block;
        startSmall(4, base + i + 4);
        return i + 4;
      }
      if (len < MIN_BSON_SIZE || len > MAX_DOCUMENT_SIZE) {
        fail(`invalid document length ${len} at offset ${base + i} in a segment of ${ns.ns}`);
      }
      if (i + len > n) break;
      if (chunk[i + len - 1] !== 0) fail(`document of ${ns.ns} at offset ${base + i} does not end with a NUL byte`);
      ns.documents++;
      ns.bytes += len;
      if (collect) batch.push(chunk.subarray(i, i + len));
      i += len;
    }
    ns.crc.update(chunk, runStart, i);
    startSmall(4, base + i);
    return i;
  }

  function push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (state === State.Document) {
        const take = Math.min(docRemaining, n - i);
        current!.crc.update(chunk, i, i + take);
        if (collect) {
          chunk.copy(docBuf!, docFill, i, i + take);
          docFill += take;
        }
        docRemaining -= take;
        i += take;
        if (docRemaining === 0) finishDocument(chunk[i - 1]!);
        continue;
      }
      if (state === State.Body && smallFill === 0) {
        i = scanBody(chunk, i);
        if (state === State.Body && i < n) {
          // A length word or a document crosses the chunk boundary.
          const len = n - i >= 4 ? chunk.readInt32LE(i) : undefined;
          if (len !== undefined) {
            startSplitDocument(len, base + i, chunk.subarray(i, i + 4));
            i += 4;
          } else {
            chunk.copy(small, 0, i, n);
            smallFill = n - i;
            i = n;
          }
        }
        continue;
      }
      const take = Math.min(smallWant - smallFill, n - i);
      chunk.copy(small, smallFill, i, i + take);
      smallFill += take;
      i += take;
      if (smallFill < smallWant) continue;
      const buf = smallFill === small.length ? small : small.subarray(0, smallFill);
      if (state === State.Body) {
        // A length word that crossed a chunk boundary.
        const len = buf.readInt32LE(0);
        if (len === TERMINATOR_INT32) {
          flushBatch();
          state = State.Block;
          startSmall(4, smallStart + 4);
        } else {
          if (len < MIN_BSON_SIZE || len > MAX_DOCUMENT_SIZE) {
            fail(`invalid document length ${len} at offset ${smallStart} in a segment of ${current!.ns}`);
          }
          startSplitDocument(len, smallStart, buf);
          smallFill = 0;
        }
        continue;
      }
      onSmall(buf, smallStart);
    }
    base += n;
    consumed = base;
    flushBatch();
  }

  function end(): void {
    const atBoundary = state === State.Block && smallFill === 0;
    if (!atBoundary) fail(`truncated at offset ${consumed} ${where()}`);
    for (const entry of namespaces.values()) {
      if (entry.status === Status.Open) fail(`truncated at offset ${consumed}: ${entry.ns} has no EOF header`);
    }
    for (const entry of namespaces.values()) {
      if (entry.required && entry.status === Status.Unopened) {
        fail(`truncated at offset ${consumed}: namespace ${entry.ns} announced in the prelude never appears`);
      }
    }
    for (const { entry, stored, at } of deferredChecks) {
      const computed = BigInt.asIntN(64, entry.crc.digest());
      if (computed !== stored) crcMismatch(entry, stored, computed, at);
    }
  }

  // After the first problem the state is meaningless: every later call repeats that error.
  let failure: unknown;
  const latched = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
    if (failure !== undefined) throw failure;
    try {
      fn(...args);
    } catch (err) {
      failure = err;
      throw err;
    }
  };

  return {
    push: latched(push),
    end: latched(end),
    get offset() {
      return consumed;
    },
  };
}
