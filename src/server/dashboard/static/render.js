// Renders a dashboard state into the page. Text goes in through textContent only (never innerHTML):
// names, labels and messages come from the cluster and must not become markup.

/** Creates an element: `attrs` are attributes ("class", "data-*", …) except `text`, its text content. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** A duration for people: 850 ms, 4.2 s, 3 min, 2 h 5 min, 3 d 4 h. */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Local wall time of an epoch ms, with milliseconds (events are close together). */
export function clock(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fill(tbodyParent, rows, emptyText, columns) {
  const tbody = document.querySelector(`${tbodyParent} tbody`);
  tbody.replaceChildren(...(rows.length > 0 ? rows : [el("tr", {}, el("td", { class: "muted", colspan: columns, text: emptyText }))]));
}

function stateClass(good, bad) {
  return good ? "state-ok" : bad ? "state-crit" : "state-warn";
}

/** Renders the whole state; `act(name, target)` runs an action (buttons call it). */
export function renderState(s, act) {
  renderCluster(s);
  renderNodes(s, act);
  renderServices(s, act);
  renderProxy(s.proxy);
  renderFronts(s.fronts);
  renderAlerts(s.alerts);
}

function nodeName(s, id) {
  return s.nodes.find((n) => n.id === id)?.name ?? `node ${id}`;
}

function renderCluster(s) {
  document.getElementById("cluster").textContent = `cluster ${s.served.clusterId}`;
  const verdict = document.getElementById("verdict");
  verdict.dataset.level = s.verdict.level;
  verdict.textContent = s.verdict.summary;
  const reasons = document.getElementById("verdict-reasons");
  reasons.dataset.level = s.verdict.level;
  reasons.replaceChildren(...(s.verdict.reasons.length === 0 ? [el("span", { text: "healthy" })] : s.verdict.reasons.map((r) => el("div", { text: r }))));
  const q = s.quorum;
  const quorum = document.getElementById("quorum");
  quorum.className = stateClass(q.reachable >= q.needed, true);
  quorum.textContent = `${q.reachable} of ${q.voters} voters reachable from this node (${q.needed} needed)`;
  const leader = document.getElementById("leader");
  leader.className = s.leader.id === 0 ? "state-crit" : "";
  leader.textContent = s.leader.id === 0 ? `none known (term ${s.leader.term})` : `${s.leader.name ?? `node ${s.leader.id}`} (node ${s.leader.id}), term ${s.leader.term}`;
  document.getElementById("leader-changes").replaceChildren(...s.leader.changes.slice(0, 6).map((c) =>
    el("div", { text: `${clock(c.atMs)}  term ${c.term}: ${c.leader === 0 ? "leader lost" : `${nodeName(s, c.leader)} leads`}` })));
  const vip = document.getElementById("cluster-vip");
  const v = s.clusterVip;
  vip.dataset.holder = v?.holder ?? "";
  vip.className = v === null ? "muted" : v.holder === null ? "state-crit" : "";
  vip.textContent = v === null ? "not configured (no node sets clusterVip)"
    : v.holder === null ? `${v.address ?? "?"}: held by no node (a take-over is pending)`
    : `${v.address ?? "?"} on ${v.holderName ?? `node ${v.holder}`} (node ${v.holder}), fencing token ${v.token}`;
  const lost = document.getElementById("banner-leader-lost");
  lost.hidden = !s.served.leaderLost;
  lost.textContent = `This node (${s.served.name}) has lost the leader: what you see is its last copy of the cluster's state and may be stale. Actions will fail until a leader is known; open the dashboard on another node.`;
}

function renderNodes(s, act) {
  const rows = s.nodes.map((n) => {
    const actions = el("td");
    if (n.registered) {
      actions.append(n.draining
        ? el("button", { type: "button", "data-action": "undrain", "data-node": n.id, text: "Undrain" })
        : el("button", { type: "button", "data-action": "drain", "data-node": n.id, text: "Drain" }));
    }
    if (n.raft === "voter" && n.state === "up" && s.leader.id !== 0) actions.append(el("button", { type: "button", "data-action": "transfer", "data-node": n.id, text: "Make leader" }));
    for (const b of actions.querySelectorAll("button")) b.addEventListener("click", () => act(b.dataset.action, { node: n.id, label: `${n.name} (${n.id})` }));
    const state = n.state === "up" ? (n.draining ? "draining" : "up") : "down";
    return el("tr", { "data-node": n.id, "data-state": state, "data-raft": n.raft },
      el("td", { text: n.id }),
      el("td", { text: n.name + (n.id === s.served.id ? " (this node)" : "") }),
      el("td", { class: n.raft === "leader" ? "state-ok" : "", text: n.raft }),
      el("td", { class: n.state === "down" ? "state-crit" : n.draining ? "state-warn" : "state-ok", text: state + (n.linkUp || n.state === "down" ? "" : " (no link)") }),
      el("td", { text: n.lastHeartbeatMs === null ? "—" : `${duration(n.lastHeartbeatMs)} ago` }),
      el("td", { text: duration(n.uptimeMs) }),
      el("td", { text: n.version ?? "—" }),
      el("td", { class: n.lagEntries > 0 ? "state-warn" : "", text: n.lagEntries === null ? "—" : `${n.lagEntries} entries` }),
      el("td", { class: n.clockSkewed ? "state-crit skew" : "skew", "data-skewed": String(n.clockSkewed), title: `highlighted beyond ±${duration(s.clockSkewThresholdMs)} (alerts.thresholds.clockSkewMs)`, text: skewText(n.clockSkewMs) }),
      el("td", {}, ...Object.entries(n.labels).map(([k, v]) => el("span", { class: "tag", text: `${k}=${v}` }))),
      el("td", { text: n.instances }),
      actions);
  });
  fill("#nodes", rows, "no nodes known", 12);
}

/** A skew with its sign: "+2.0 s" is ahead of the leader's clock. */
function skewText(ms) {
  if (ms === null || ms === undefined) return "—";
  return `${ms >= 0 ? "+" : "−"}${duration(Math.abs(ms))}`;
}

function renderServices(s, act) {
  const serviceRows = [];
  const instanceRows = [];
  for (const svc of s.services) {
    const failover = svc.failover;
    const active = failover?.active ?? null;
    const actions = el("td");
    if (failover !== undefined && active !== null) {
      const b = el("button", { type: "button", "data-action": "failover", "data-service": svc.name, text: "Fail over" });
      b.addEventListener("click", () => act("failover", { service: svc.name, label: nodeName(s, active.node) }));
      actions.append(b);
    }
    const healthyActive = svc.activeHealthy === true;
    const good = failover !== undefined ? healthyActive : svc.healthy >= svc.replicas;
    const bad = failover !== undefined ? !healthyActive : svc.healthy === 0 && svc.replicas > 0;
    serviceRows.push(el("tr", { "data-service": svc.name, "data-active-node": active?.node ?? "", "data-healthy": svc.healthy },
      el("td", { text: svc.name }),
      el("td", { text: failover !== undefined ? "active-standby" : "active-active" }),
      el("td", { class: stateClass(good, bad), text: failover !== undefined ? (healthyActive ? "active healthy" : "no healthy active") : `${svc.healthy} / ${svc.replicas}` }),
      el("td", { text: (svc.revision ?? "—") + (svc.rollout?.haltedRevision ? ` (roll-out halted at ${svc.rollout.haltedRevision})` : svc.rollout?.outdated > 0 ? ` (rolling, ${svc.rollout.outdated} outdated)` : "") }),
      el("td", { text: failover === undefined ? "—" : active === null ? "none" : `${nodeName(s, active.node)} (token ${active.token})` + (failover.switchover ? `, switching to node ${failover.switchover.to}` : "") }),
      el("td", { text: svc.expose ?? "—" }),
      actions));
    for (const i of svc.instances) {
      const role = failover === undefined ? "—" : active !== null && i.node === active.node ? `active (token ${active.token})` : "standby";
      instanceRows.push(el("tr", { "data-instance": i.id, "data-service": svc.name, "data-node": i.node, "data-healthy": String(i.healthy), "data-state": i.state },
        el("td", { text: i.id }),
        el("td", { text: svc.name }),
        el("td", { text: i.nodeName ?? `node ${i.node}` }),
        el("td", { class: i.state === "failed" || i.state === "node_down" ? "state-crit" : "", text: i.state }),
        el("td", { class: i.healthy ? "state-ok" : "state-crit", text: i.healthy ? "healthy" : "not healthy" }),
        el("td", { text: role }),
        el("td", { class: i.restarts > 0 ? "state-warn" : "", text: i.restarts }),
        el("td", { text: i.startedAtMs === null ? "—" : duration(s.generatedAtMs - i.startedAtMs) }),
        el("td", { class: "wrap muted message", text: i.message ?? "" }),
        el("td", {}, logButton(i, svc.name, act))));
    }
  }
  fill("#services", serviceRows, "no services applied", 7);
  fill("#instances", instanceRows, "no instances", 10);
}

/** The "log" button of an instance row: opens the log panel (logs.js) through act("log", …). */
function logButton(i, service, act) {
  const b = el("button", { type: "button", "data-log": i.id, text: "log" });
  b.addEventListener("click", () => act("log", { node: i.node, nodeName: i.nodeName ?? `node ${i.node}`, service, instance: i.id }));
  return b;
}

function renderProxy(p) {
  if (p === null) {
    fill("#frontends", [], "the proxy is off on this node", 4);
    fill("#backends", [], "", 8);
    return;
  }
  fill("#frontends", p.frontends.map((f) => el("tr", { "data-frontend": f.name },
    el("td", { text: f.name }), el("td", { text: f.protocol }),
    el("td", { text: f.listen === null ? "not listening" : `${f.listen.host}:${f.listen.port}` }), el("td", { text: f.pools.join(", ") }))), "no exposed services", 4);
  const counts = new Map();
  for (const r of p.requests) counts.set(r.backend, { requests: (counts.get(r.backend)?.requests ?? 0) + r.requests, errors: (counts.get(r.backend)?.errors ?? 0) + r.errors });
  const rows = [];
  for (const pool of p.pools) {
    for (const b of pool.backends) {
      const c = counts.get(b.id) ?? { requests: 0, errors: 0 };
      rows.push(el("tr", { "data-backend": b.id, "data-health": b.health, "data-requests": c.requests },
        el("td", { text: pool.name }), el("td", { text: b.id }),
        el("td", { class: b.health === "up" ? "state-ok" : "state-crit", text: b.health }),
        el("td", { class: b.ejected ? "state-crit" : "", text: b.ejected ? "ejected" : "no" }),
        el("td", { class: b.draining ? "state-warn" : "", text: b.draining ? "draining" : "no" }),
        el("td", { text: b.active }), el("td", { text: c.requests }), el("td", { class: c.errors > 0 ? "state-crit" : "", text: c.errors })));
    }
  }
  fill("#backends", rows, "no backends", 8);
}

function renderFronts(f) {
  const p = document.getElementById("fronts");
  if (f === null) {
    p.textContent = "RESP and memcached fronts are off on this node (config fronts:).";
    p.className = "muted";
    return;
  }
  p.className = "";
  const part = (name, x) => (x === null ? `${name} off` : `${name} on port ${x.port}, ${x.connections} connection${x.connections === 1 ? "" : "s"}`);
  p.textContent = `${part("RESP", f.resp)}; ${part("memcached", f.memcached)}; ${f.keys} of ${f.maxKeys} keys, ${f.bytes} of ${f.maxBytes} bytes; ${f.expiredKeys} keys expired here`;
}

function renderAlerts(a) {
  fill("#alerts", a.active.map((x) => el("tr", { "data-alert": x.name },
    el("td", { text: x.name }),
    el("td", { class: x.severity === "critical" ? "state-crit" : "state-warn", text: x.severity }),
    el("td", { text: clock(x.startsAtMs) }),
    el("td", { class: "wrap", text: x.annotations.summary })))
    .concat(a.pending > 0 ? [el("tr", {}, el("td", { colspan: 4, class: "muted", text: `${a.pending} deliveries pending` }))] : []), "no alert firing", 4);
}

const BAD_EVENTS = /down|failed|unhealthy|halted|no_healthy|lost/;
const GOOD_EVENTS = /healthy$|_up$|promoted|done|undrained/;

/** The event feed: merges events by sequence number (the state's and the stream's), newest first. */
export class EventFeed {
  constructor(max = 300) {
    this.max = max;
    this.bySeq = new Map();
    this.list = document.getElementById("events");
  }

  /** Adds events; `live` marks them as just arrived. */
  add(events, live) {
    let added = false;
    for (const e of events) {
      if (this.bySeq.has(e.seq)) continue;
      const type = el("span", { class: `k ${BAD_EVENTS.test(e.type) ? "state-crit" : GOOD_EVENTS.test(e.type) ? "state-ok" : ""}`, text: e.type });
      const li = el("li", { "data-seq": e.seq, "data-type": e.type, "data-service": e.service, "data-node": e.node, class: live ? "new" : undefined, title: e.message },
        el("span", { class: "t", text: clock(e.atMs) }), type, el("span", { text: e.message }));
      this.bySeq.set(e.seq, li);
      added = true;
    }
    if (!added) return;
    const seqs = [...this.bySeq.keys()].sort((a, b) => b - a);
    for (const old of seqs.slice(this.max)) this.bySeq.delete(old);
    this.list.replaceChildren(...seqs.slice(0, this.max).map((s) => this.bySeq.get(s)));
  }
}
