// The dashboard page: sign in with the admin token (kept in sessionStorage, this tab only), load the
// state once, then follow the live stream. Freshness is shown from this browser's own clock
// (time since the last state arrived) plus the serving node's time since it last heard from the
// leader, so clocks that differ between the browser and the node never matter.
import { runAction } from "./actions.js";
import { closeLog, openLog, refreshLog } from "./logs.js";
import { duration, EventFeed, renderState } from "./render.js";
import { errorMessage, openStream } from "./stream.js";

const TOKEN_KEY = "phalanx.adminToken";
const STATE_PATH = "/v3/phalanx/dashboard/state";
/** No state for this long: say the live view has stalled. */
const STALLED_AFTER_MS = 3000;

let stream = null;
let feed = null;
let last = null;

function show(id, visible) {
  document.getElementById(id).hidden = !visible;
}

function refusal(status, message) {
  return status === 403
    ? `Refused (403): that is not the admin token — the dashboard needs the admin token, not the client token. ${message}`
    : `Token refused (${status}): it is not a token of this cluster. ${message}`;
}

function showLogin(error) {
  closeLog();
  stream?.close();
  stream = null;
  show("dashboard", false);
  show("sign-out", false);
  show("banner-leader-lost", false);
  show("banner-stream", false);
  show("login", true);
  const e = document.getElementById("login-error");
  e.hidden = error === undefined;
  e.textContent = error ?? "";
  const verdict = document.getElementById("verdict");
  verdict.dataset.level = "unknown";
  verdict.textContent = "not signed in";
  document.getElementById("token").focus();
}

/** How long an action's answer stays on screen (its effect stays in the event feed). */
const NOTICE_MS = 10_000;
let noticeTimer = null;

function notify(result) {
  const box = document.getElementById("action-result");
  box.hidden = false;
  box.className = `banner ${result.ok ? "info" : "critical"}`;
  box.textContent = result.message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (box.hidden = true), NOTICE_MS);
}

async function act(name, target) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null) return showLogin();
  // Reading a log changes nothing: no confirmation.
  if (name === "log") return openLog(target, token);
  const result = await runAction(name, target, token);
  if (result !== null) notify(result);
}

function apply(state) {
  last = { state, receivedAt: performance.now() };
  renderState(state, act);
  feed.add(state.events, false);
  tickFreshness();
}

function tickFreshness() {
  if (last === null) return;
  const age = performance.now() - last.receivedAt;
  const s = last.state.served;
  document.getElementById("served").textContent = `served by ${s.name} (node ${s.id}, ${s.role})`;
  document.getElementById("freshness").textContent =
    `state ${duration(age)} old · leader last heard ${duration(s.sinceLeaderContactMs + age)} ago` +
    (last.state.leaderDataAgeMs === null ? "" : ` · lag and heartbeats ${duration(last.state.leaderDataAgeMs + age)} old`);
  const stalled = document.getElementById("banner-stream");
  if (age > STALLED_AFTER_MS && stream !== null) {
    stalled.hidden = false;
    stalled.textContent = `No update from ${s.name} for ${duration(age)}: the page is reconnecting; what it shows may be stale.`;
  } else if (stalled.dataset.reason === undefined) {
    stalled.hidden = true;
  }
}

async function start(token) {
  let r;
  try {
    r = await fetch(STATE_PATH, { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch (err) {
    return showLogin(`Cannot reach this node: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (r.status === 401 || r.status === 403) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showLogin(refusal(r.status, await errorMessage(r)));
  }
  if (!r.ok) return showLogin(`The node answered HTTP ${r.status}: ${await errorMessage(r)}`);
  sessionStorage.setItem(TOKEN_KEY, token);
  show("login", false);
  show("dashboard", true);
  show("sign-out", true);
  feed = new EventFeed();
  apply(await r.json());
  const banner = document.getElementById("banner-stream");
  stream = openStream(token, {
    message(type, data) {
      if (type === "state") apply(data);
      else if (type === "feed") feed.add([data], true);
      else if (type === "problem") notify({ ok: false, message: data.message });
    },
    connected() {
      delete banner.dataset.reason;
      banner.hidden = true;
    },
    disconnected(reason) {
      banner.dataset.reason = reason;
      banner.hidden = false;
      banner.textContent = `Live updates interrupted (${reason}): reconnecting…`;
    },
    refused(status, message) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(refusal(status, message));
    },
  });
}

document.getElementById("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = document.getElementById("token").value.trim();
  if (token !== "") void start(token);
});
document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin();
});
document.getElementById("log-refresh").addEventListener("click", () => void refreshLog());
document.getElementById("log-close").addEventListener("click", closeLog);
setInterval(tickFreshness, 250);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved === null) showLogin();
else void start(saved);
