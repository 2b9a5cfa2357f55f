// The pure oplog-slice retention planner (issue 15 §4): named cases (a gap, a pruned base, the
// newest segment, unreadable manifests, the grace period, a kept older segment) and a property
// test over generated chains: whatever the chain, gaps, breaks and bases, every kept base's window
// stays restorable (from the same base, replaying the same slices where no break makes segments
// overlap), and only the oldest, provably useless slices go.
import { describe, expect, it } from "vitest";
import { createPrng, type Prng } from "../../runtime/src/demo/prng.js";
import { compareTimes, formatTime, sliceObjectKeyFor, type BackupManifest, type OplogTime } from "../../runtime/src/manifest/manifest.js";
import { chainOf, restorableWindows, windowSlices, type SliceManifest } from "../../runtime/src/manifest/slices.js";
import type { BackupEntry } from "../../runtime/src/manifest/store.js";
import { planSlicePrune, type SlicePruneInput } from "../../runtime/src/retention/slices.js";

const DAY = 86_400_000;
const now = new Date("2026-12-03T12:00:00Z");
const T0 = Math.floor(now.getTime() / 1000) - 30 * 86_400;

const at = (t: number, i = 1): OplogTime => ({ t: T0 + t, i });

let serial = 0;
/** A slice manifest as the follower writes it; stored a minute after its last entry unless `completedAt` says otherwise. */
function slice(after: OplogTime, first: OplogTime, last: OplogTime, previous: SliceManifest | null | string, extra: { gap?: { from: OplogTime; to: OplogTime }; completedAt?: Date } = {}): SliceManifest {
  const id = `20261101T000000Z-${(serial++).toString(16).padStart(6, "0")}`;
  const completedAt = extra.completedAt ?? new Date(last.t * 1000 + 60_000);
  return {
    format: 1,
    id,
    kind: "oplog-slice",
    oplog: { after, first, last, entries: 1, previous: typeof previous === "string" ? previous : (previous?.id ?? null), base: "b", ...(extra.gap ? { gap: extra.gap } : {}) },
    createdAt: completedAt.toISOString(),
    completedAt: completedAt.toISOString(),
    namespaces: [],
    object: { key: sliceObjectKeyFor(id, "gzip", "age-x25519"), size: 1, sha256: "0".repeat(64) },
  } as unknown as SliceManifest;
}

/** A chain of slices, each continuing the one before: `[first, last]` offsets (seconds from T0). */
function chain(spans: Array<[number, number]>, start: { after: OplogTime; previous: SliceManifest | null; gap?: boolean } = { after: at(0), previous: null }): SliceManifest[] {
  const out: SliceManifest[] = [];
  let after = start.after;
  let prev = start.previous;
  for (const [k, [f, l]] of spans.entries()) {
    const first = at(f);
    const s = slice(after, first, at(l), prev, k === 0 && start.gap ? { gap: { from: after, to: first } } : {});
    out.push(s);
    after = s.oplog.last;
    prev = s;
  }
  return out;
}

/** A kept base backup, its oplog end given (none: a backup without --oplog). */
function base(id: string, end?: OplogTime): BackupEntry {
  const manifest = { format: 1, id, createdAt: now.toISOString(), completedAt: now.toISOString(), namespaces: [], consistency: end ? { mode: "oplog-window", detail: { oplogIncluded: true, oplogWindow: { start: end, end } } } : { mode: "snapshot" } } as unknown as BackupManifest;
  return { manifest, manifestKey: `manifests/${id}.json` };
}

function plan(slices: SliceManifest[], keptBases: BackupEntry[], extra: Partial<SlicePruneInput> = {}) {
  return planSlicePrune({ slices, keptBases, grace: DAY, now, ...extra });
}

const ids = (xs: ReadonlyArray<{ id: string }>): string[] => xs.map((x) => x.id);

describe("planSlicePrune, named cases", () => {
  it("removes the slices at or before the oldest kept base's end in its chain, keeps the one it starts in and the rest of its window", () => {
    const s = chain([[10, 100], [110, 200], [210, 300], [310, 400]]);
    // A second chain segment after a gap, the newest: the follower extends it.
    const newest = chain([[1000, 1100]], { after: s[3]!.oplog.last, previous: s[3]!, gap: true });
    const p = plan([...s, ...newest], [base("b1", at(150)), base("b2", at(250))]);
    expect(p.remove).toEqual([{ id: s[0]!.id, first: at(10), last: at(100), reason: `every entry is at or before ${formatTime(at(150))}, the oplog end of base b1, the oldest kept base in its chain segment` }]);
    expect(p.keep).toEqual([
      { id: s[1]!.id, reason: `in the restorable window of base b1 (${formatTime(at(150))} to ${formatTime(at(400))})` },
      { id: s[2]!.id, reason: `in the restorable window of base b1 (${formatTime(at(150))} to ${formatTime(at(400))})` },
      { id: s[3]!.id, reason: `in the restorable window of base b1 (${formatTime(at(150))} to ${formatTime(at(400))})` },
      { id: newest[0]!.id, reason: "the newest slice (the follower continues from it)" },
    ]);
    expect(p.windows.map((w) => [w.base, w.from, w.to, windowSlices(w).length])).toEqual([
      ["b2", at(250), at(400), 2],
      ["b1", at(150), at(400), 3],
    ]);
    expect(p.blocked).toBeUndefined();
  });

  it("a gap: the segment before it, which no kept base starts in, goes whole; the kept base's segment after it stays", () => {
    const old = chain([[10, 100], [110, 200]]);
    const after = chain([[5000, 5100], [5110, 5200]], { after: old[1]!.oplog.last, previous: old[1]!, gap: true });
    const newest = chain([[9000, 9100]], { after: after[1]!.oplog.last, previous: after[1]!, gap: true });
    const p = plan([...old, ...after, ...newest], [base("b2", at(5150))]);
    const why = `its chain segment (${formatTime(at(0))} to ${formatTime(at(200))}) ends before the oplog end of every kept base, and no kept base's window starts in it`;
    expect(p.remove).toEqual([
      { id: old[0]!.id, first: at(10), last: at(100), reason: why },
      { id: old[1]!.id, first: at(110), last: at(200), reason: why },
      { id: after[0]!.id, first: at(5000), last: at(5100), reason: `every entry is at or before ${formatTime(at(5150))}, the oplog end of base b2, the oldest kept base in its chain segment` },
    ]);
    expect(ids(p.keep)).toEqual([after[1]!.id, newest[0]!.id]);
    // The remaining chain starts cleanly: no break that oplog verify would report.
    expect(chainOf([after[1]!, newest[0]!]).problems).toEqual([]);
  });

  it("a pruned base frees the slices of its window up to the next kept base's end", () => {
    const s = chain([[10, 100], [110, 200], [210, 300], [310, 400]]);
    const newest = chain([[1000, 1100]], { after: s[3]!.oplog.last, previous: s[3]!, gap: true });
    // Both bases kept: only what is before b1's end goes.
    expect(ids(plan([...s, ...newest], [base("b1", at(50)), base("b2", at(250))]).remove)).toEqual([]);
    // b1 pruned by the backup plan: everything up to b2's end goes, the slice holding it stays.
    expect(ids(plan([...s, ...newest], [base("b2", at(250))]).remove)).toEqual([s[0]!.id, s[1]!.id]);
    // A base's end exactly at a slice's last entry: that slice is not needed (replay starts after the end).
    expect(ids(plan([...s, ...newest], [base("b2", at(300))]).remove)).toEqual([s[0]!.id, s[1]!.id, s[2]!.id]);
    // A kept backup without an oplog window needs no slice.
    expect(ids(plan([...s, ...newest], [base("b2", at(250)), base("plain")]).remove)).toEqual([s[0]!.id, s[1]!.id]);
  });

  it("in the newest segment (one follower that never stopped), removes what is before the oldest kept base's end but never the newest slice, and nothing while no kept base starts in it", () => {
    const s = chain([[10, 100], [110, 200], [210, 300], [310, 400]]);
    const p = plan(s, [base("b2", at(350)), base("b3", at(380))]);
    expect(ids(p.remove)).toEqual([s[0]!.id, s[1]!.id, s[2]!.id]);
    expect(p.keep).toEqual([{ id: s[3]!.id, reason: "the newest slice (the follower continues from it)" }]);
    expect(p.windows.map((w) => [w.base, w.from, w.to, windowSlices(w).length])).toEqual([
      ["b3", at(380), at(400), 1],
      ["b2", at(350), at(400), 1],
    ]);
    // A base whose end is the newest entry: the newest slice stays anyway.
    expect(ids(plan(s, [base("b4", at(400))]).keep)).toEqual([s[3]!.id]);
    // No kept base starts in the newest segment yet (a base being made now will): nothing goes.
    const none = plan(s, [base("plain")]);
    expect(none.remove).toEqual([]);
    expect(none.keep.map((k) => k.reason)).toEqual([
      ...Array(3).fill("in the newest chain segment, which no kept base starts in yet (the follower extends it, and a base backup made now starts in it)"),
      "the newest slice (the follower continues from it)",
    ]);
  });

  it("an unreadable slice or backup manifest blocks every removal, and the plan says which", () => {
    const s = chain([[10, 100], [110, 200], [210, 300]]);
    const newest = chain([[1000, 1100]], { after: s[2]!.oplog.last, previous: s[2]!, gap: true });
    const all = [...s, ...newest];
    expect(ids(plan(all, [base("b2", at(250))]).remove)).toEqual([s[0]!.id, s[1]!.id]);
    const bad = plan(all, [base("b2", at(250))], { unreadableSlices: ["oplog/manifests/20261102T000000Z-00000a.json"] });
    expect(bad.remove).toEqual([]);
    expect(bad.blocked).toBe("slice manifest oplog/manifests/20261102T000000Z-00000a.json cannot be read: where its entries sit in the chain is unknown, so no slice is removed until it is repaired or removed by hand");
    expect(bad.keep.every((k) => k.reason === bad.blocked)).toBe(true);
    const badBase = plan(all, [base("b2", at(250))], { unreadableBases: ["manifests/20261102T000000Z-00000b.json"] });
    expect(badBase.remove).toEqual([]);
    expect(badBase.blocked).toBe("backup manifest manifests/20261102T000000Z-00000b.json cannot be read: its oplog window is unknown, so no slice is removed until it is repaired or removed by hand");
  });

  it("keeps a slice stored within the grace period, and every slice after it", () => {
    const s = chain([[10, 100], [110, 200], [210, 300]]);
    const young = slice(s[2]!.oplog.last, at(310), at(320), s[2]!, { completedAt: new Date(now.getTime() - 3_600_000) });
    const s4 = slice(young.oplog.last, at(330), at(340), young);
    const newest = chain([[1000, 1100]], { after: s4.oplog.last, previous: s4, gap: true });
    const p = plan([...s, young, s4, ...newest], [base("b", at(1050))]);
    expect(ids(p.remove)).toEqual(ids(s));
    expect(p.keep.slice(0, 2)).toEqual([
      { id: young.id, reason: "stored less than the grace period ago" },
      { id: s4.id, reason: `an older slice (${young.id}) is kept, and removing this one would leave a break in the chain after it` },
    ]);
  });

  it("an older kept segment keeps the leading slices of a later one, so the chain gets no break", () => {
    const a = chain([[10, 100], [110, 200]]);
    const b = chain([[5000, 5100], [5110, 5200], [5210, 5300]], { after: a[1]!.oplog.last, previous: a[1]!, gap: true });
    const c = chain([[9000, 9100]], { after: b[2]!.oplog.last, previous: b[2]!, gap: true });
    const p = plan([...a, ...b, ...c], [base("b0", at(150)), base("b2", at(5250))]);
    expect(ids(p.remove)).toEqual([a[0]!.id]);
    expect(p.keep.find((k) => k.id === b[0]!.id)?.reason).toBe(`an older slice (${a[1]!.id}) is kept, and removing this one would leave a break in the chain after it`);
  });

  it("with no kept base that has an oplog window, every segment but the newest goes", () => {
    const a = chain([[10, 100], [110, 200]]);
    const c = chain([[9000, 9100]], { after: a[1]!.oplog.last, previous: a[1]!, gap: true });
    const p = plan([...a, ...c], [base("plain")]);
    expect(p.remove.map((r) => r.reason)).toEqual([
      `its chain segment (${formatTime(at(0))} to ${formatTime(at(200))}) is used by no kept base (none has an oplog window)`,
      `its chain segment (${formatTime(at(0))} to ${formatTime(at(200))}) is used by no kept base (none has an oplog window)`,
    ]);
    expect(ids(p.keep)).toEqual([c[0]!.id]);
    expect(p.windows).toEqual([]);
  });

  it("no slices: an empty plan", () => {
    expect(plan([], [base("b", at(10))])).toEqual({ keep: [], remove: [], windows: [restorableWindows([base("b", at(10))], [])[0]] });
  });
});

/** What `planPointInTime` would pick for `target` from these bases and slices: the base and the slices replayed. */
function restorePlan(bases: readonly BackupEntry[], slices: readonly SliceManifest[], target: OplogTime): { base: string; slices: string[] } | undefined {
  const w = restorableWindows(bases, chainOf(slices).segments).find((x) => compareTimes(x.from, target) <= 0 && compareTimes(target, x.to) <= 0);
  return w && { base: w.base, slices: ids(windowSlices(w).filter((s) => compareTimes(s.oplog.first, target) <= 0)) };
}

/** A chain as the follower writes one over about a month: continuing slices, gaps, breaks (a restart from another position), the newest near `now`. */
function generate(rng: Prng): { slices: SliceManifest[]; bases: BackupEntry[]; extra: Partial<SlicePruneInput> } {
  const slices: SliceManifest[] = [];
  let position = at(rng.between(0, 1000), rng.int(3));
  let prev: SliceManifest | null = null;
  const n = rng.between(0, 14);
  const step = Math.floor((30 * 86_400) / Math.max(n, 1) / 2);
  for (let k = 0; k < n; k++) {
    const kind = rng.int(10);
    let after = position;
    let previous: SliceManifest | null | string = prev;
    let gap: { from: OplogTime; to: OplogTime } | undefined;
    let first: OplogTime;
    if (kind === 0 && prev) {
      first = { t: position.t + rng.between(1, step), i: rng.between(0, 3) };
      gap = { from: position, to: first };
    } else if (kind === 1 && prev) {
      // A break: a follower that restarted from its own idea of the position.
      after = { t: position.t + rng.between(-step, step), i: rng.int(3) };
      previous = rng.int(2) ? null : "20261101T000000Z-ffffff";
      first = { t: after.t + rng.between(0, 5), i: after.i + 1 };
    } else {
      first = rng.int(3) ? { t: position.t, i: position.i + 1 } : { t: position.t + rng.between(1, 60), i: rng.int(3) };
    }
    const last = rng.int(4) ? { t: first.t + rng.between(0, step), i: rng.between(0, 5) } : first;
    const fixedLast = compareTimes(last, first) < 0 ? first : last;
    const s = slice(after, first, fixedLast, previous, gap ? { gap } : {});
    slices.push(s);
    position = fixedLast;
    prev = s;
  }
  slices.sort((a, b) => compareTimes(a.oplog.first, b.oplog.first) || (a.id < b.id ? -1 : 1));
  // Base ends: inside slices, exactly at a slice's bounds, in gaps, before everything, after everything.
  const bases: BackupEntry[] = [];
  const m = rng.between(0, 5);
  for (let k = 0; k < m; k++) {
    const s = slices.length ? rng.pick(slices) : undefined;
    const choice = rng.int(6);
    const end: OplogTime | undefined = !s || choice === 0 ? at(rng.between(-1000, 40 * 86_400), rng.int(3)) : choice === 1 ? s.oplog.last : choice === 2 ? s.oplog.after : choice === 3 ? s.oplog.first : choice === 4 ? { t: s.oplog.first.t + rng.int(Math.max(1, s.oplog.last.t - s.oplog.first.t)), i: rng.int(4) } : undefined;
    bases.push(base(`b${k}`, end));
  }
  const extra: Partial<SlicePruneInput> = {};
  if (rng.int(15) === 0) Object.assign(extra, { unreadableSlices: ["oplog/manifests/x.json"] });
  if (rng.int(15) === 0) Object.assign(extra, { unreadableBases: ["manifests/y.json"] });
  return { slices, bases, extra };
}

describe("planSlicePrune, property over generated chains", () => {
  it("never leaves a kept window with a hole, removes only the oldest slices no kept base uses, and adds no chain break", () => {
    let removedSomething = 0;
    for (let seed = 1; seed <= 4000; seed++) {
      const { slices, bases, extra } = generate(createPrng(seed));
      const p = plan(slices, bases, extra);
      const where = `seed ${seed}`;
      // Every slice once, in keep or remove; removals are the oldest slices.
      expect([...ids(p.remove), ...ids(p.keep)].sort(), where).toEqual(ids(slices).sort());
      expect(ids(p.remove), where).toEqual(ids(slices.slice(0, p.remove.length)));
      const removed = new Set(ids(p.remove));
      const remaining = slices.filter((s) => !removed.has(s.id));
      if (removed.size) removedSomething++;
      if (extra.unreadableSlices || extra.unreadableBases) expect(removed.size, where).toBe(0);
      // Never the newest slice, nor one within the grace period; in the newest segment only what is
      // before the oldest kept base's end there.
      const before = chainOf(slices);
      const newestSegment = before.segments.at(-1);
      if (slices.length) expect(removed.has(slices.at(-1)!.id), where).toBe(false);
      const endsInNewest = restorableWindows(bases, before.segments).filter((w) => w.segment === newestSegment).map((w) => w.from);
      for (const s of newestSegment?.slices ?? []) if (removed.has(s.id)) expect(endsInNewest.some((e) => compareTimes(s.oplog.last, e) <= 0), where).toBe(true);
      for (const s of slices) if (now.getTime() - Date.parse(s.completedAt) < DAY) expect(removed.has(s.id), where).toBe(false);
      // Every kept base's window: same start, reaches at least as far, and a restore to its start,
      // its end and every slice boundary inside it picks the same base and replays the same slices.
      const windowsBefore = restorableWindows(bases, before.segments);
      const windowsAfter = restorableWindows(bases, chainOf(remaining).segments);
      expect(p.windows, where).toEqual(windowsAfter);
      for (const w of windowsBefore) {
        const w2 = windowsAfter.find((x) => x.base === w.base)!;
        expect(w2.from, where).toEqual(w.from);
        expect(compareTimes(w2.to, w.to), where).toBeGreaterThanOrEqual(0);
        for (const s of windowSlices(w)) expect(removed.has(s.id), `${where}: ${s.id} is in the window of ${w.base}`).toBe(false);
        const targets = [w.from, w.to, ...windowSlices(w).flatMap((s) => [s.oplog.first, s.oplog.last])].filter((t) => compareTimes(w.from, t) <= 0 && compareTimes(t, w.to) <= 0);
        for (const t of targets) {
          const was = restorePlan(bases, slices, t);
          const is = restorePlan(bases, remaining, t);
          // Where a break made two segments overlap, the restore may pick the other, also complete, one.
          if (before.problems.length === 0) expect(is, `${where}: restore to ${formatTime(t)}`).toEqual(was);
          else expect(is?.base, `${where}: restore to ${formatTime(t)}`).toBe(was?.base);
        }
      }
      // No break that the removal made: every problem after was there before.
      const problemsBefore = before.problems.map((x) => JSON.stringify(x));
      for (const x of chainOf(remaining).problems) expect(problemsBefore, where).toContain(JSON.stringify(x));
    }
    // The generator does produce removals (the property is not vacuous).
    expect(removedSomething).toBeGreaterThan(400);
  });
});
