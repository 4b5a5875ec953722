// The log panel: the end of one instance's output — the same records `phalanx logs` prints — asked
// of the node serving this page, which relays to the node running the instance. Read on opening and
// on "Refresh" only (no polling: a log can be large and the page stays light).
import { errorMessage } from "./stream.js";

const LOGS_PATH = "/v3/phalanx/dashboard/logs";
/** Bytes asked for; the panel shows at most LINES of them. */
const TAIL_BYTES = 64 * 1024;
export const LINES = 200;

let current = null;

function panel(id) {
  return document.getElementById(id);
}

/** Opens the panel on `target` ({ node, nodeName, service, instance }) and reads its log. */
export async function openLog(target, token) {
  current = { target, token };
  panel("log-panel").hidden = false;
  panel("log-title").textContent = `Log of ${target.instance} (${target.service}) on ${target.nodeName} — last ${LINES} lines`;
  panel("log-panel").dataset.instance = target.instance;
  await refreshLog();
  panel("log-panel").scrollIntoView({ block: "nearest" });
}

/** Reads the open panel's log again. */
export async function refreshLog() {
  if (current === null) return;
  const { target, token } = current;
  const status = panel("log-status");
  const text = panel("log-text");
  status.textContent = "reading…";
  panel("log-panel").dataset.loaded = "false";
  try {
    const r = await fetch(LOGS_PATH, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ node: target.node, service: target.service, instance: target.instance, tail: TAIL_BYTES }),
      cache: "no-store",
    });
    if (!r.ok) {
      status.textContent = `Cannot read the log (HTTP ${r.status}): ${await errorMessage(r)}`;
      text.textContent = "";
      return;
    }
    const piece = await r.json();
    const lines = piece.text.split("\n").filter((l) => l !== "");
    text.textContent = lines.slice(-LINES).join("\n");
    status.textContent = `${lines.length > LINES ? LINES : lines.length} lines, read from node ${piece.node} at ${new Date().toLocaleTimeString()} (file ${piece.size} bytes)`;
    panel("log-panel").dataset.loaded = "true";
    text.scrollTop = text.scrollHeight;
  } catch (err) {
    status.textContent = `Cannot read the log: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Closes the panel. */
export function closeLog() {
  current = null;
  panel("log-panel").hidden = true;
}
