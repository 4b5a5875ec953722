// `phalanx demo --check`: the scripted tour, for people and for CI. Traffic through the balancers,
// kill -9 of the node holding the singleton's active instance, the failover, the app still
// answering, the node restarted and rejoining; a summary; the last line one JSON object.
import type { PhalanxClient } from "../../client/client.js";
import type { DemoCluster } from "./demo-cluster.js";
import { Traffic } from "./demo-traffic.js";
import { DEMO_SINGLETON, DEMO_WEB, DemoObserver, summaryLine } from "./demo-view.js";

/** Bounds of the tour's waits. */
export const DEMO_CHECK_LIMITS = {
  /** Traffic before the kill. */
  warmupMs: 3000,
  /** The failover must complete within this. */
  failoverDeadlineMs: 30_000,
  /** Traffic after the failover, before the restart. */
  afterFailoverMs: 2000,
  /** The restarted node must be back (member, node lease, its balancer serving) within this. */
  rejoinDeadlineMs: 60_000,
  /** Traffic after the rejoin. */
  afterRejoinMs: 2000,
  /** Requests per second of each stream. */
  ratePerSec: 40,
} as const;

/** The tour's result: the last line of `phalanx demo --check`. */
export interface DemoCheckResult {
  requests: number;
  failed: number;
  failover_ms: number | null;
  rejoined: boolean;
  ok: boolean;
}

type Say = (line: string) => void;

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return { value, ms: Date.now() - start };
    if (Date.now() - start > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs the tour on a started cluster with the demo's services ready: the node killed is the one
 * holding the singleton's active record (/phalanx/active/singleton), and the failover measured is
 * the promotion of its standby on another node.
 */
export async function runDemoCheck(client: PhalanxClient, cluster: DemoCluster, say: Say): Promise<DemoCheckResult> {
  const observer = new DemoObserver(client, cluster);
  const steps: { name: string; held: boolean; detail: string }[] = [];
  const step = (name: string, held: boolean, detail: string): boolean => {
    steps.push({ name, held, detail });
    say(`${held ? "ok  " : "FAIL"} ${name}: ${detail}`);
    return held;
  };
  const web = new Traffic(cluster.webAddresses(), DEMO_CHECK_LIMITS.ratePerSec);
  const single = new Traffic(cluster.singletonAddresses(), DEMO_CHECK_LIMITS.ratePerSec / 2, 1);
  let failoverMs: number | null = null;
  let rejoined = false;
  try {
    say(`Step 1: traffic through the balancers (${cluster.webAddresses().join(", ")} and ${cluster.singletonAddresses().join(", ")})`);
    await new Promise((r) => setTimeout(r, DEMO_CHECK_LIMITS.warmupMs));
    const spread = [...web.tally.byPort.entries()].map(([port, n]) => `${cluster.nodeOfPort(port)?.name ?? "?"}:${port} ${n}`).join(", ");
    step("traffic", web.tally.requests > 0 && web.tally.failed === 0 && web.tally.byPort.size >= 3, `${web.tally.requests} requests to ${DEMO_WEB}, answered by ${web.tally.byPort.size} instances (${spread}); ${single.tally.requests} to ${DEMO_SINGLETON}`);

    const holder = await observer.activeHolder();
    if (holder === null) {
      step("find the singleton's active node", false, "no active record for the singleton");
      return finish();
    }
    const victim = cluster.nodes.find((n) => n.id === holder)!;
    say(`Step 2: kill -9 ${victim.name} (pid ${victim.child?.pid}): it runs the singleton's ACTIVE instance, a replica of ${DEMO_WEB} and a balancer`);
    const before = summaryLine(await observer.snapshot(), cluster);
    say(`  before: ${before}`);
    const killedAt = Date.now();
    cluster.kill(victim.id);

    say("Step 3: failover of the singleton (the standby on another node is promoted)");
    try {
      const { value } = await until("the singleton's failover", DEMO_CHECK_LIMITS.failoverDeadlineMs, async () => {
        const now = await observer.activeHolder();
        if (now === null || now === victim.id) return null;
        // The promoted instance answers through a surviving balancer (its port says its node). An
        // instance cannot learn a promotion from its environment (fixed at start), so the port,
        // not the app's PHALANX_ROLE, is what is checked.
        const r = await fetch(`http://${cluster.singletonAddresses().find((a) => !a.startsWith(`${victim.proxyHost}:`))}/`, { signal: AbortSignal.timeout(1000) });
        const body = (await r.json()) as { port?: number };
        if (cluster.nodeOfPort(body.port ?? 0)?.id !== now) return null;
        return `n${now}`;
      });
      failoverMs = Date.now() - killedAt;
      step("failover", true, `the active role moved to ${value} in ${failoverMs} ms`);
    } catch (err) {
      step("failover", false, (err as Error).message);
    }
    await new Promise((r) => setTimeout(r, DEMO_CHECK_LIMITS.afterFailoverMs));
    say(`  after:  ${summaryLine(await observer.snapshot(), cluster)}`);
    step("app kept answering", web.tally.failed === 0 && single.tally.failed === 0, `${web.tally.requests + single.tally.requests} requests so far, ${web.tally.failed + single.tally.failed} failed, ${web.tally.retried + single.tally.retried} answered after a retry on another address`);

    say(`Step 4: restart ${victim.name}`);
    const pid = cluster.restart(victim.id);
    const restartedAt = Date.now();
    try {
      await until(`${victim.name} rejoining`, DEMO_CHECK_LIMITS.rejoinDeadlineMs, async () => {
        // A member that knows a leader, registered on a live node lease, and its balancer serving again.
        const member = await fetch(`http://${victim.clientAddress}/healthz`).then((r) => r.status === 200);
        if (!member) return null;
        const nodes = await client.call("GET", "/v3/phalanx/nodes", undefined, true);
        if (!((nodes.nodes ?? []) as { id: number }[]).some((n) => n.id === victim.id)) return null;
        const r = await fetch(`http://${victim.proxyHost}:${cluster.webPort}/`, { signal: AbortSignal.timeout(1000) });
        return r.status === 200 ? true : null;
      });
      rejoined = true;
      step("rejoin", true, `${victim.name} (pid ${pid}) is back in ${Date.now() - restartedAt} ms: a member that knows the leader, node lease up, its balancer ${victim.proxyHost}:${cluster.webPort} serving ${DEMO_WEB} again`);
    } catch (err) {
      step("rejoin", false, (err as Error).message);
    }
    await new Promise((r) => setTimeout(r, DEMO_CHECK_LIMITS.afterRejoinMs));
    say(`  now:    ${summaryLine(await observer.snapshot(), cluster)}`);
    const events = await observer.newEvents().catch(() => []);
    say("Events of the tour:");
    for (const e of events.slice(-12)) say(`  ${e}`);
    return await finish();
  } catch (err) {
    step("tour", false, (err as Error).message);
    return await finish();
  }

  async function finish(): Promise<DemoCheckResult> {
    const w = await web.stop();
    const s = await single.stop();
    const requests = w.requests + s.requests;
    const failed = w.failed + s.failed;
    step("no failed request", requests > 0 && failed === 0, `${requests} requests (${w.requests} ${DEMO_WEB}, ${s.requests} ${DEMO_SINGLETON}), ${failed} failed${failed > 0 ? ` (last error ${w.lastError ?? s.lastError})` : ""}`);
    const ok = steps.every((x) => x.held) && rejoined && failoverMs !== null;
    say("");
    say(`Summary: ${ok ? "every step held" : `failed: ${steps.filter((x) => !x.held).map((x) => x.name).join(", ")}`}`);
    return { requests, failed, failover_ms: failoverMs, rejoined, ok };
  }
}
