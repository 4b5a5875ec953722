// The admin actions of the page: each asks for confirmation in a dialog, then calls the node's
// existing admin route with the token (a follower relays it to the leader). The route records the
// action in the event log, so its effect shows up in the live feed.
import { errorMessage } from "./stream.js";

/** What each action does: its route, its body, and the question asked before it runs. */
export const ACTIONS = {
  drain: {
    path: "/v3/phalanx/nodes/drain", body: (t) => ({ node: t.node }),
    ask: (t) => `Drain node ${t.label}? Its instances move to other nodes and it takes no new ones until undrained.`,
    done: (t) => `Node ${t.label} is draining: its instances move to other nodes (follow it in the events).`,
  },
  undrain: {
    path: "/v3/phalanx/nodes/undrain", body: (t) => ({ node: t.node }),
    ask: (t) => `Undrain node ${t.label}? It takes instances again.`,
    done: (t) => `Node ${t.label} takes instances again.`,
  },
  transfer: {
    path: "/v3/phalanx/transfer", body: (t) => ({ to: t.node }),
    ask: (t) => `Transfer Raft leadership to node ${t.label}? Writes pause for a moment while it takes over.`,
    done: (t) => `Leadership transfer to node ${t.label} started.`,
  },
  failover: {
    path: "/v3/phalanx/services/failover", body: (t) => ({ service: t.service }),
    ask: (t) => `Fail over service ${t.service}? The active on node ${t.label} stops and the best healthy standby takes over.`,
    done: (t, answer) => `Planned failover of ${t.service} from node ${answer.from} to node ${answer.to} requested (fencing token now ${answer.token}; the new active gets a larger one).`,
  },
};

/** Shows the dialog with `question`; resolves true when confirmed. */
export function confirmAction(question) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = question;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** Runs `name` on `target` after confirmation; returns { ok, message } or null when cancelled. */
export async function runAction(name, target, token) {
  const action = ACTIONS[name];
  if (!(await confirmAction(action.ask(target)))) return null;
  try {
    const r = await fetch(action.path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(action.body(target)),
      cache: "no-store",
    });
    // 504 is the API's "unknown outcome": the request may have taken effect.
    if (r.status === 504) return { ok: false, message: `${name}: outcome unknown (HTTP 504): ${await errorMessage(r)} — look at the event feed before trying again` };
    if ((r.status >= 400 && r.status < 500) || r.status === 503) return { ok: false, message: `${name} refused (HTTP ${r.status}), nothing was done: ${await errorMessage(r)}` };
    if (!r.ok) return { ok: false, message: `${name} failed (HTTP ${r.status}): ${await errorMessage(r)} — look at the event feed before trying again` };
    return { ok: true, message: action.done(target, await r.json()) };
  } catch (err) {
    return { ok: false, message: `${name} failed: ${err instanceof Error ? err.message : String(err)} (the node may or may not have acted: look at the event feed)` };
  }
}
