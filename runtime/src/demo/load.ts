import { BSON, type Document, type MongoClient } from "mongodb";
import { DEMO_COLLECTIONS, DEMO_DATABASE, demoCollectionMetadata } from "./collections.js";
import { demoCollections, type DemoDataOptions } from "./dataset.js";

/** Documents per insertMany: large enough to be quick, small enough to stay far below 48 MB a batch. */
const BATCH_DOCUMENTS = 1000;

/** What `loadDemoData` wrote. */
export interface LoadedDemo {
  /** `cloudsync.<collection>` → documents inserted. */
  readonly documents: ReadonlyMap<string, number>;
  /** Secondary indexes the server refused (`ns name: message`); the data is there regardless. */
  readonly skippedIndexes: readonly string[];
}

/**
 * Inserts the demo data set (the same documents as the demo archive, same seed same data) into
 * the database `cloudsync` through the driver, with each collection's secondary indexes, as an
 * application would have written it. BSON types are kept as generated (Int32, Int64, Double).
 `onBytes` gets the BSON
 * bytes of each batch once it is inserted. Stops with `signal`'s reason when it is aborted; driver errors are thrown
 * as they are.
 */
export async function loadDemoData(client: MongoClient, options: DemoDataOptions & { onBytes?: (bytes: number) => void; signal?: AbortSignal }): Promise<LoadedDemo> {
  const db = client.db(DEMO_DATABASE);
  const documents = new Map<string, number>();
  const skippedIndexes: string[] = [];
  for (const { collection, documents: raws } of demoCollections(options)) {
    const coll = db.collection(collection);
    let batch: Document[] = [];
    let batchBytes = 0;
    let count = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      options.signal?.throwIfAborted();
      await coll.insertMany(batch, { ordered: true });
      count += batch.length;
      batch = [];
      options.onBytes?.(batchBytes);
      batchBytes = 0;
    };
    for await (const raw of raws) {
      // promoteValues off: an Int32 stays an Int32 and a Double a Double, as in the archive demo.
      batch.push(BSON.deserialize(raw, { promoteValues: false, promoteBuffers: false }));
      batchBytes += raw.length;
      if (batch.length >= BATCH_DOCUMENTS) await flush();
    }
    await flush();
    documents.set(`${DEMO_DATABASE}.${collection}`, count);
    const { indexes } = BSON.EJSON.parse(demoCollectionMetadata(collection, options.seed ?? 1), { relaxed: false }) as { indexes: Array<Document & { name: string; key: Document }> };
    for (const { v: _v, key, name, ...rest } of indexes) {
      if (name === "_id_") continue;
      try {
        await coll.createIndex(key, { name, ...rest });
      } catch (err) {
        skippedIndexes.push(`${DEMO_DATABASE}.${collection} ${name}: ${(err as Error).message}`);
      }
    }
  }
  return { documents, skippedIndexes };
}

/** The demo's namespaces, `cloudsync.<collection>`, in archive order: the backup's explicit includes. */
export const DEMO_NAMESPACES: readonly string[] = DEMO_COLLECTIONS.map((c) => `${DEMO_DATABASE}.${c}`);
