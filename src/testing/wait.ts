// Waiting for a condition in the real-process tests: a poll with a deadline, never a bare sleep.

/** Polls `probe` every `paceMs` until it holds; fails after `deadlineMs` naming `what`. A probe that throws fails the wait. */
export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, deadlineMs = 30_000, paceMs = 20): Promise<void> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > deadlineMs) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, paceMs));
  }
}
