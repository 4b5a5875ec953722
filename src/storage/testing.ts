// Helpers shared by the storage tests (and usable by server tests): temporary data directories
// and small log entries.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry, HardState, NodeId, Snapshot } from "../raft/types.js";

/** Makes a temporary directory and registers its removal with the test. */
export async function tempDataDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-storage-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "data");
}

/** An entry whose data names it, so that a test can tell entries apart. */
export function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: "normal", data: new TextEncoder().encode(text) };
}

/** Entries first..last, all of one term. */
export function entries(first: number, last: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = first; i <= last; i++) out.push(entry(i, term));
  return out;
}

/** A hard state. */
export function hard(term: number, vote: number, commit: number): HardState {
  return { term, vote: vote as NodeId, commit };
}

/** A snapshot whose data is `text`. */
export function snapshotAt(index: number, term: number, text = `state@${index}`): Snapshot {
  return {
    meta: { index, term, confState: { voters: [1 as NodeId, 2 as NodeId, 3 as NodeId], learners: [] } },
    data: new TextEncoder().encode(text),
  };
}

/** Entries as comparable plain values (Uint8Array data as text). */
export function plain(list: readonly Entry[]): { index: number; term: number; type: string; data: string }[] {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: new TextDecoder().decode(e.data) }));
}
