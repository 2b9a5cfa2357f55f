// Oplog entries in the shape a mongod 8 replica set writes them, one per entry type the replay
// supports. Built by hand from MongoDB's documentation of the replica set oplog (the fields ts, t,
// v, op, ns, ui, o, o2, wall, lsid, txnNumber, stmtId, prevOpTime), the `$v: 2` update diff
// described in the server's update design notes, and the command entries of the "Oplog entries"
// section of the server's replication notes (createIndexes in its single-index form since 4.4,
// startIndexBuild/commitIndexBuild for two-phase index builds, applyOps for transactions with
// partialTxn and prepare). Collection UUIDs (ui) and wall times are made up; the replay ignores ui.
import { Binary, Int32, Long, ObjectId, Timestamp, UUID, type Document } from "mongodb";

const t0 = 1_796_235_400;
const ui = new UUID("5e7c6a0a-1d11-4a77-b1d4-0cb3a5f0e001");
const lsid = { id: new UUID("9a3d2f8e-6b5c-4f1e-a2d7-3c4b5a697801"), uid: new Binary(Buffer.alloc(32, 7), 0) };

/** A timestamp `t0 + s` seconds, ordinal `i`. */
export function at(s: number, i = 1): Timestamp {
  return new Timestamp({ t: t0 + s, i });
}

/** The seconds value of `at(s)`. */
export function second(s: number): number {
  return t0 + s;
}

function entry(s: number, i: number, op: string, ns: string, o: Document, extra: Document = {}): Document {
  return { op, ns, ui, o, ...extra, ts: at(s, i), t: new Long(1), v: new Long(2), wall: new Date((t0 + s) * 1000) };
}

/**
 * A replay script over `db`, with the content expected after each step's time. Every step's
 * entries share one second `s`; `expected` is the collection contents (sorted by _id) at the end
 * of that second, and `indexes` the names of c's secondary indexes then.
 */
export function scenario(db: string): { entries: Document[]; steps: Array<{ s: number; expected: Record<string, Document[]>; indexes: string[] }> } {
  const c = `${db}.c`;
  const cmd = `${db}.$cmd`;
  const id = new ObjectId("65f000000000000000000001");
  const entries: Document[] = [
    // 1: create, insert two documents
    entry(1, 1, "c", cmd, { create: "c", idIndex: { v: 2, key: { _id: 1 }, name: "_id_" } }),
    entry(1, 2, "i", c, { _id: 1, name: "a", n: new Int32(1), tags: ["x", "y", "z"], sub: { p: 1, q: { r: 1 } } }, { o2: { _id: 1 } }),
    entry(1, 3, "i", c, { _id: 2, name: "b", n: new Int32(2) }, { o2: { _id: 2 } }),
    entry(1, 4, "i", c, { _id: id, name: "oid" }, { o2: { _id: id } }),
    // 2: a $v:2 diff (set, delete, insert, nested sub-diff, array diff), a classic $set, a replacement
    entry(2, 1, "u", c, { $v: 2, diff: { u: { n: new Int32(10) }, d: { name: false }, i: { added: true }, ssub: { u: { p: 2 }, sq: { i: { s: "deep" } } }, stags: { a: true, l: 2, u1: "Y" } } }, { o2: { _id: 1 } }),
    entry(2, 2, "u", c, { $v: 1, $set: { name: "B" } }, { o2: { _id: 2 } }),
    entry(2, 3, "u", c, { _id: id, name: "replaced", extra: 1 }, { o2: { _id: id } }),
    entry(2, 4, "n", "", { msg: "periodic noop" }),
    // 3: a two-phase index build, an oplog entry per phase
    entry(3, 1, "c", cmd, { startIndexBuild: "c", indexBuildUUID: new UUID("0d2c3b4a-5968-4776-8594-a3b2c1d0e0f1"), indexes: [{ v: 2, key: { name: 1 }, name: "name_1" }] }),
    entry(3, 2, "c", cmd, { commitIndexBuild: "c", indexBuildUUID: new UUID("0d2c3b4a-5968-4776-8594-a3b2c1d0e0f1"), indexes: [{ v: 2, key: { name: 1 }, name: "name_1" }] }),
    // 4: a transaction in two entries (partialTxn then the commit), and a single-entry one
    entry(4, 1, "c", "admin.$cmd", { applyOps: [{ op: "i", ns: c, ui, o: { _id: 3, name: "txn" } }], partialTxn: true }, { lsid, txnNumber: new Long(1), stmtId: new Int32(0), prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: new Long(-1) } }),
    entry(4, 2, "c", "admin.$cmd", { applyOps: [{ op: "d", ns: c, ui, o: { _id: 2 } }], count: new Long(2) }, { lsid, txnNumber: new Long(1), stmtId: new Int32(1), prevOpTime: { ts: at(4, 1), t: new Long(1) } }),
    entry(4, 3, "c", "admin.$cmd", { applyOps: [{ op: "u", ns: c, ui, o: { $v: 2, diff: { u: { name: "nested" } } }, o2: { _id: 3 } }, { op: "c", ns: "admin.$cmd", o: { applyOps: [{ op: "i", ns: c, ui, o: { _id: 4, name: "inner" } }] } }] }, { lsid, txnNumber: new Long(2) }),
    // 5: createIndexes (single-index form), then dropIndexes of the first one
    entry(5, 1, "c", cmd, { createIndexes: "c", v: 2, key: { n: -1 }, name: "n_-1" }),
    entry(5, 2, "c", cmd, { dropIndexes: "c", index: "name_1" }, { o2: { v: 2, key: { name: 1 }, name: "name_1" } }),
    // 6: a delete, then a transaction that never commits within the scenario
    entry(6, 1, "d", c, { _id: 4 }),
    entry(6, 2, "c", "admin.$cmd", { applyOps: [{ op: "i", ns: c, ui, o: { _id: 99, name: "never" } }], partialTxn: true }, { lsid, txnNumber: new Long(3), stmtId: new Int32(0), prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: new Long(-1) } }),
    // 7: rename c → d, then drop d
    entry(7, 1, "c", "admin.$cmd", { renameCollection: c, to: `${db}.d`, stayTemp: false }),
    entry(7, 2, "c", cmd, { drop: "d" }, { o2: { numRecords: new Int32(2) } }),
  ];
  const doc1 = { _id: 1, n: 10, tags: ["x", "Y"], sub: { p: 2, q: { r: 1, s: "deep" } }, added: true };
  const s1 = [{ _id: 1, name: "a", n: 1, tags: ["x", "y", "z"], sub: { p: 1, q: { r: 1 } } }, { _id: 2, name: "b", n: 2 }, { _id: id, name: "oid" }];
  const s2 = [doc1, { _id: 2, name: "B", n: 2 }, { _id: id, name: "replaced", extra: 1 }];
  const s4 = [doc1, { _id: 3, name: "nested" }, { _id: 4, name: "inner" }, { _id: id, name: "replaced", extra: 1 }];
  const s6 = [doc1, { _id: 3, name: "nested" }, { _id: id, name: "replaced", extra: 1 }];
  return {
    entries,
    steps: [
      { s: 1, expected: { c: s1 }, indexes: [] },
      { s: 2, expected: { c: s2 }, indexes: [] },
      { s: 3, expected: { c: s2 }, indexes: ["name_1"] },
      { s: 4, expected: { c: s4 }, indexes: ["name_1"] },
      { s: 5, expected: { c: s4 }, indexes: ["n_-1"] },
      { s: 6, expected: { c: s6 }, indexes: ["n_-1"] },
      { s: 7, expected: {}, indexes: [] },
    ],
  };
}
