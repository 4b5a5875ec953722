// Ports for processes the benchmark kills and starts again on the same port: taken BELOW the
// kernel's ephemeral range, so that no outgoing connection made while the process is down (the
// load, a proxy, a peer reconnecting) can be given that port as its local port and block the
// restart with EADDRINUSE (seen with ports from bind(0), which come from the ephemeral range).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Where the search starts; instance port ranges of the nodes sit above at 20000 (phalanx.mjs). */
const SEARCH_FROM = 12_000;
const SEARCH_TO = 19_999;

function ephemeralLow() {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
}

function canBind(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

let next = SEARCH_FROM + Math.floor(Math.random() * 2000);

/** `count` ports that were free a moment ago, outside the ephemeral range. */
export async function stablePorts(count) {
  const top = Math.min(SEARCH_TO, ephemeralLow() - 1);
  const ports = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > top - SEARCH_FROM) throw new Error(`Cannot find ${count} free ports between ${SEARCH_FROM} and ${top}`);
    const port = next;
    next = next >= top ? SEARCH_FROM : next + 1;
    if (await canBind(port)) ports.push(port);
  }
  return ports;
}
