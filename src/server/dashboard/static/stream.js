// The live stream: server-sent events read with fetch() so that the admin token travels in the
// Authorization header (EventSource cannot send one, and a token in the URL would land in logs).
// Reconnects with a backoff of 0.5 s doubling to 5 s; a refused token (401/403) stops it.

const STREAM_PATH = "/v3/phalanx/dashboard/stream";
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5000;

/**
 * Opens the stream. `on` has: message(type, data), connected(), disconnected(reason),
 * refused(status, message). Returns { close() }.
 */
export function openStream(token, on) {
  let stopped = false;
  let controller = null;
  const run = async () => {
    let backoff = BACKOFF_FIRST_MS;
    while (!stopped) {
      controller = new AbortController();
      try {
        const r = await fetch(STREAM_PATH, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }, signal: controller.signal, cache: "no-store" });
        if (r.status === 401 || r.status === 403) {
          on.refused(r.status, await errorMessage(r));
          return;
        }
        if (!r.ok || r.body === null) throw new Error(`HTTP ${r.status}: ${await errorMessage(r)}`);
        on.connected();
        backoff = BACKOFF_FIRST_MS;
        await readEvents(r.body, on.message);
        throw new Error("the node closed the stream");
      } catch (err) {
        if (stopped) return;
        on.disconnected(err instanceof Error ? err.message : String(err));
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  };
  void run();
  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** Reads server-sent events ("event:" and "data:" lines, a blank line ends one) until the body ends. */
async function readEvents(body, deliver) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) deliver(type, JSON.parse(data.join("\n")));
    }
  }
}

/** The error message of a JSON error body, else the status text. */
export async function errorMessage(r) {
  const text = await r.text().catch(() => "");
  try {
    const j = JSON.parse(text);
    return j.message ?? j.error ?? text;
  } catch {
    return text || r.statusText;
  }
}
