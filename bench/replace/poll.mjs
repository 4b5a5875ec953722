// Polling with a deadline at a fine grain: the benchmark's times are measured by polling, so the
// interval bounds their error (10 ms against figures of tens of milliseconds to seconds).
export const POLL_MS = 10;

/** Calls `probe()` every `everyMs` until it returns a value other than null/undefined/false. */
export async function pollUntil(what, probe, deadlineMs, everyMs = POLL_MS) {
  const start = Date.now();
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`Cannot ${what}: not done after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
