import { test } from "node:test";
import assert from "node:assert/strict";
import type { Command, KeyRange, WatchBatch, WatchEvent } from "./store.js";
import { inRange, KvStore, prefixRange, WatcherRegistry } from "./store.js";
import { CommandGenerator, seededRandom } from "./testkit.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const show = (e: WatchEvent): string =>
  `${e.type} ${e.kv.key}@${e.kv.modRevision} v${e.kv.version}=${dec(e.kv.value)}` + (e.prevKv ? ` prev@${e.prevKv.modRevision}` : "");

/** A store whose every apply is notified to its registry, as the server does. */
function harness(options: ConstructorParameters<typeof WatcherRegistry>[1] = {}) {
  const store = new KvStore();
  const hub = new WatcherRegistry(store, options);
  const all: WatchEvent[] = [];
  const apply = (cmd: Command): void => {
    const out = store.apply(store.appliedIndex + 1, cmd);
    all.push(...out.events);
    hub.notify(out.events);
  };
  return { store, hub, all, apply };
}
const events = (batches: WatchBatch[], watchId: number): string[] =>
  batches.flatMap((b) => (b.type === "events" && b.watchId === watchId ? b.events.map(show) : []));

test("a watcher sees live puts and deletes of its key, with prevKv only when asked", () => {
  const { hub, apply } = harness();
  const w = hub.watch({ key: "a", prevKv: true });
  const p = hub.watch(prefixRange("dir/"));
  assert.ok(w.ok && p.ok);
  apply({ type: "put", key: "a", value: enc("1") });
  apply({ type: "put", key: "dir/x", value: enc("2") });
  apply({ type: "put", key: "a", value: enc("3") });
  apply({ type: "delete", key: "", rangeEnd: "\0" });
  const out = hub.poll();
  assert.deepEqual(events(out, w.watchId), ["put a@1 v1=1", "put a@3 v2=3 prev@1", "delete a@4 v0= prev@3"]);
  assert.deepEqual(events(out, p.watchId), ["put dir/x@2 v1=2", "delete dir/x@4 v0="]);
  assert.deepEqual(hub.poll(), []);
});

test("a watcher from a past revision replays history, then live events, with no gap or duplicate", () => {
  const { hub, apply } = harness();
  for (let i = 1; i <= 5; i++) apply({ type: "put", key: "k", value: enc(`${i}`) });
  const w = hub.watch({ key: "k", startRevision: 3 });
  assert.ok(w.ok);
  assert.deepEqual(events(hub.poll(2), w.watchId), ["put k@3 v3=3", "put k@4 v4=4"]);
  apply({ type: "put", key: "k", value: enc("6") });
  assert.deepEqual(events(hub.poll(2), w.watchId), ["put k@5 v5=5", "put k@6 v6=6"]);
  apply({ type: "put", key: "k", value: enc("7") });
  assert.deepEqual(events(hub.poll(), w.watchId), ["put k@7 v7=7"]);
});

test("watching from a compacted revision fails with the compaction revision", () => {
  const { hub, apply } = harness();
  for (let i = 1; i <= 5; i++) apply({ type: "put", key: "k", value: enc(`${i}`) });
  apply({ type: "compact", revision: 4 });
  const r = hub.watch({ key: "k", startRevision: 3 });
  assert.deepEqual(r, { ok: false, code: "compacted", message: "Cannot watch k from revision 3: compacted up to 4", compactRevision: 4 });
  const ok = hub.watch({ key: "k", startRevision: 4, prevKv: true });
  assert.ok(ok.ok);
  assert.deepEqual(events(hub.poll(), ok.watchId), ["put k@4 v4=4 prev@3", "put k@5 v5=5 prev@4"]);
});

test("a catching-up watcher overtaken by compaction is cancelled as compacted", () => {
  const { hub, apply } = harness();
  for (let i = 1; i <= 5; i++) apply({ type: "put", key: "k", value: enc(`${i}`) });
  const w = hub.watch({ key: "k", startRevision: 1 });
  assert.ok(w.ok);
  apply({ type: "compact", revision: 5 });
  const [notice] = hub.poll();
  assert.equal(notice?.type === "cancelled" && notice.code, "compacted");
  assert.equal(hub.size, 0);
});

test("a slow watcher is cancelled with the revision to resume from, and memory stays bounded", () => {
  const { hub, apply } = harness({ maxPendingEvents: 3 });
  const slow = hub.watch({ key: "k" });
  assert.ok(slow.ok);
  for (let i = 1; i <= 5; i++) apply({ type: "put", key: "k", value: enc(`${i}`) });
  const out = hub.poll();
  assert.deepEqual(out, [
    {
      type: "cancelled",
      watchId: slow.watchId,
      code: "slow_watcher",
      message: "Cancelled watch 1: more than 3 events waited to be sent; watch again from revision 1",
      resumeRevision: 1,
    },
  ]);
  const again = hub.watch({ key: "k", startRevision: 1 });
  assert.ok(again.ok);
  assert.equal(events(hub.poll(), again.watchId).length, 5);
});

test("progress notices tell quiet watchers how far they are complete", () => {
  const { hub, apply } = harness();
  const quiet = hub.watch({ key: "quiet" });
  const busy = hub.watch({ key: "busy" });
  assert.ok(quiet.ok && busy.ok);
  apply({ type: "put", key: "busy", value: enc("1") });
  apply({ type: "put", key: "other", value: enc("2") });
  assert.deepEqual(hub.progress(), [{ type: "progress", watchId: quiet.watchId, revision: 2, events: [] }]);
  hub.poll();
  assert.deepEqual(hub.progress(), [
    { type: "progress", watchId: quiet.watchId, revision: 2, events: [] },
    { type: "progress", watchId: busy.watchId, revision: 2, events: [] },
  ]);
  const replaying = hub.watch({ key: "busy", startRevision: 1 });
  assert.ok(replaying.ok);
  assert.equal(hub.progress().length, 2, "a watcher still replaying history gets no progress notice");
});

test("too many watchers and bad ranges are refused", () => {
  const { hub } = harness({ maxWatchers: 1 });
  assert.ok(hub.watch({ key: "a" }).ok);
  const r = hub.watch({ key: "b" });
  assert.equal(!r.ok && r.code, "too_many_watchers");
  assert.equal(hub.cancel(1), true);
  assert.equal(hub.cancel(1), false);
  const bad = hub.watch({ key: "z", rangeEnd: "a" });
  assert.equal(!bad.ok && bad.code, "invalid_range");
});

interface Observed {
  range: KeyRange;
  start: number;
  prevKv: boolean;
  got: string[];
  cancelled?: WatchBatch & { type: "cancelled" };
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`seed ${seed}: every watcher's stream equals the MVCC history from its start revision, across a snapshot install`, () => {
    const random = seededRandom(seed);
    const gen = new CommandGenerator(random);
    const leader = new KvStore();
    const { store, hub, all } = harness({ maxPendingEvents: 40, maxBatchEvents: 5, maxScannedPerPoll: 8 });
    const watchers = new Map<number, Observed>();
    const collect = (batches: WatchBatch[]): void => {
      for (const b of batches) {
        const w = watchers.get(b.watchId) as Observed;
        if (b.type === "events") w.got.push(...b.events.map(show));
        else if (b.type === "cancelled") w.cancelled = b;
        else {
          const upTo = all.filter((e) => e.kv.modRevision >= w.start && e.kv.modRevision <= b.revision && inRange(w.range, e.kv.key));
          assert.equal(w.got.length, upTo.length, `progress at ${b.revision} for watcher ${b.watchId} means all its events up to there were sent`);
        }
      }
    };
    const ranges: KeyRange[] = [prefixRange("a/"), prefixRange(""), { key: "b/k1" }, { key: "a/k3", rangeEnd: "c/k2" }, { key: "c/k0x" }];
    let installedAt = -1;
    for (let step = 0; step < 400; step++) {
      const cmd = gen.next(leader.revision);
      const out = leader.apply(leader.appliedIndex + 1, cmd);
      all.push(...out.events); // the reference history: every change, in apply order
      if (step >= 150 && step < 170) {
        // The follower misses 20 entries and catches up by installing the leader's snapshot.
        if (step === 169) {
          store.restore(leader.snapshot());
          hub.onRestore();
          installedAt = leader.revision;
        }
      } else {
        const mine = store.apply(out.index, cmd);
        assert.deepEqual(mine, out, "replicas apply identically");
        hub.notify(mine.events);
      }
      if (random() < 0.08) {
        const range = ranges[Math.floor(random() * ranges.length)] as KeyRange;
        const lo = Math.max(store.compactRevision, 1);
        const start = random() < 0.3 ? 0 : lo + Math.floor(random() * (store.revision - lo + 2));
        const prevKv = random() < 0.5;
        const r = hub.watch({ ...range, startRevision: start, prevKv });
        assert.ok(r.ok, JSON.stringify(r));
        watchers.set(r.watchId, { range, start: r.startRevision, prevKv, got: [] });
      }
      if (random() < 0.3) collect(hub.poll());
      if (random() < 0.05) collect(hub.progress());
    }
    for (let i = 0; i < 1000 && hub.size > 0; i++) {
      const batches = hub.poll();
      if (batches.length === 0) break;
      collect(batches);
    }
    assert.ok(installedAt > 0 && watchers.size > 10);
    let checked = 0;
    for (const [id, w] of watchers) {
      const expected = all
        .filter((e) => e.kv.modRevision >= w.start && inRange(w.range, e.kv.key))
        .map((e) => show(w.prevKv ? e : { type: e.type, kv: e.kv }));
      if (w.cancelled === undefined) {
        assert.deepEqual(w.got, expected, `watcher ${id} from ${w.start}`);
        checked++;
      } else if (w.cancelled.code === "slow_watcher") {
        const resume = w.cancelled.resumeRevision as number;
        const before = all.filter((e) => e.kv.modRevision >= w.start && e.kv.modRevision < resume && inRange(w.range, e.kv.key));
        assert.deepEqual(w.got, expected.slice(0, before.length), `slow watcher ${id} got exactly what precedes its resume revision`);
      } else {
        assert.deepEqual(w.got, expected.slice(0, w.got.length), `watcher ${id} cancelled as compacted got a prefix`);
      }
    }
    assert.ok(checked > 0);
  });
}
