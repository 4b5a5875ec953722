#!/usr/bin/env node
// A network probe that runs inside a harness namespace (`node netprobe.mjs PORT`): a UDP and TCP
// echo server on PORT that also remembers the UDP payloads it received, plus a client that takes
// JSON commands on stdin and answers one JSON line each on stdout (probe.ts drives it). Plain
// JavaScript, so a namespace starts it without a TypeScript loader. Every wait has a deadline.
import { createSocket } from "node:dgram";
import { createConnection, createServer } from "node:net";
import { createInterface } from "node:readline";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`usage: netprobe.mjs PORT (1-65535), got ${process.argv[2]}\n`);
  process.exit(2);
}
/** Payloads remembered for `waitReceived`; the oldest are forgotten first. */
const RECEIVED_MAX = 10_000;
/** A UDP echo probe sends again this often until answered or out of time. */
const RESEND_MS = 100;

const received = new Set();
const receivedWaiters = new Map(); // payload -> [resolve]
/** nonce -> callback, for echoes coming back to the client socket. */
const echoWaiters = new Map();

const reply = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

function remember(payload) {
  received.add(payload);
  if (received.size > RECEIVED_MAX) received.delete(received.values().next().value);
  const waiters = receivedWaiters.get(payload);
  if (waiters !== undefined) {
    receivedWaiters.delete(payload);
    for (const resolve of waiters) resolve();
  }
}

// --- servers ---------------------------------------------------------------------------------
const udpServer = createSocket("udp4");
udpServer.on("message", (msg, rinfo) => {
  remember(msg.toString("utf8"));
  udpServer.send(msg, rinfo.port, rinfo.address);
});
const tcpServer = createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});

// --- client ----------------------------------------------------------------------------------
const client = createSocket("udp4");
client.on("message", (msg) => {
  const done = echoWaiters.get(msg.toString("utf8"));
  if (done !== undefined) done();
});

function udpEcho({ id, to, port: toPort, timeoutMs }) {
  const nonce = `echo-${process.pid}-${id}`;
  const started = performance.now();
  return new Promise((resolve) => {
    const send = () => client.send(nonce, toPort, to);
    const resend = setInterval(send, RESEND_MS);
    const timer = setTimeout(() => finish({ ok: false, error: "timeout" }), timeoutMs);
    const finish = (result) => {
      clearInterval(resend);
      clearTimeout(timer);
      echoWaiters.delete(nonce);
      resolve(result);
    };
    echoWaiters.set(nonce, () => finish({ ok: true, ms: performance.now() - started }));
    send();
  });
}

function udpCount({ id, to, port: toPort, count, waitMs }) {
  return new Promise((resolve) => {
    let echoed = 0;
    const nonces = Array.from({ length: count }, (_, i) => `count-${process.pid}-${id}-${i}`);
    const finish = () => {
      clearTimeout(timer);
      for (const n of nonces) echoWaiters.delete(n);
      resolve({ ok: true, sent: count, echoed });
    };
    const timer = setTimeout(finish, waitMs);
    for (const n of nonces) {
      echoWaiters.set(n, () => {
        echoWaiters.delete(n);
        if (++echoed === count) finish();
      });
      client.send(n, toPort, to);
    }
  });
}

function tcpEcho({ id, to, port: toPort, timeoutMs }) {
  const nonce = `tcp-${process.pid}-${id}\n`;
  const started = performance.now();
  return new Promise((resolve) => {
    let got = "";
    const socket = createConnection({ host: to, port: toPort });
    const finish = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: "timeout" }), timeoutMs);
    socket.on("connect", () => socket.write(nonce));
    socket.on("data", (chunk) => {
      got += chunk.toString("utf8");
      if (got.includes(nonce)) finish({ ok: true, ms: performance.now() - started });
    });
    socket.on("error", (err) => finish({ ok: false, error: err.code ?? err.message }));
    socket.on("close", () => finish({ ok: false, error: "closed" }));
  });
}

async function udpSend({ to, port: toPort, payload, copies, intervalMs }) {
  for (let i = 0; i < copies; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, intervalMs));
    client.send(payload, toPort, to);
  }
  return { ok: true };
}

function waitReceived({ payload, timeoutMs }) {
  if (received.has(payload)) return Promise.resolve({ ok: true });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const list = receivedWaiters.get(payload) ?? [];
      receivedWaiters.set(payload, list.filter((r) => r !== done));
      resolve({ ok: false, error: "timeout" });
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve({ ok: true });
    };
    receivedWaiters.set(payload, [...(receivedWaiters.get(payload) ?? []), done]);
  });
}

/** Longest response body passed back; a probe reports reachability and status, not bulk data. */
const HTTP_BODY_MAX = 64 * 1024;

async function http({ url, method, headers, body, timeoutMs }) {
  const started = performance.now();
  try {
    const r = await fetch(url, { method: method ?? "GET", headers: headers ?? {}, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = (await r.text()).slice(0, HTTP_BODY_MAX);
    return { ok: true, status: r.status, body: text, ms: performance.now() - started };
  } catch (err) {
    const cause = err.cause?.code ?? err.name ?? String(err);
    return { ok: false, error: err.name === "TimeoutError" ? "timeout" : cause };
  }
}

const ops = { udpEcho, udpCount, tcpEcho, udpSend, waitReceived, http };

createInterface({ input: process.stdin }).on("line", (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    reply({ id: null, ok: false, error: `not JSON: ${line.slice(0, 80)}` });
    return;
  }
  const op = ops[cmd.op];
  if (op === undefined) {
    reply({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` });
    return;
  }
  op(cmd).then((result) => reply({ id: cmd.id, ...result }), (err) => reply({ id: cmd.id, ok: false, error: String(err) }));
});
// The harness ends the probe by closing stdin or by killing it.
process.stdin.on("end", () => process.exit(0));

let listening = 0;
const ready = () => {
  if (++listening === 3) reply({ event: "ready", port });
};
udpServer.bind(port, ready);
tcpServer.listen(port, ready);
client.bind(0, ready);
