// Writes straight to a TCP socket's libuv handle, skipping Node's Writable machinery (write →
// writeOrBuffer → _write → writeGeneric → onwrite → a nextTick per write → afterWrite). When the
// socket has nothing else pending, the kernel almost always takes a small write whole, and that
// bookkeeping is pure overhead: on the proxy benchmark this took ~1.4 µs of CPU off every small
// HTTP request (two writes each), +5 % req/s.
//
// It relies on what Node does not document: `process.binding("stream_wrap")` (WriteWrap and the
// state array that tells whether the last write went asynchronous) and the socket's `_handle`,
// the very pieces net.Socket itself writes with. Everything is feature-checked: without them the
// caller falls back to socket.write, and raw-write.test.ts fails on a Node where the raw path
// stopped working, so it cannot be lost silently. (Under --pending-deprecation Node prints its
// DEP0111 warning for process.binding once.)
//
// What the Writable no longer sees: the bytes of a raw write that the kernel did not take at once
// stay queued in libuv (which keeps writes, later Writable writes and the shutdown of end() in
// order) and are not counted in writableLength, writableNeedDrain or bytesWritten; the caller
// accounts for them (write-batch.ts). Socket timeouts are refreshed as socket.write would.
import type net from "node:net";
import { getSystemErrorName } from "node:util";

/** What the kernel did with a raw write. */
export const RAW_SENT = 0;
/** Part of it is queued in libuv; `onSettled` runs once it is written (or failed). */
export const RAW_QUEUED = 1;
/** The write failed; the socket was destroyed with the error. */
export const RAW_FAILED = 2;

/** One write request as the binding sees it. */
interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  /** Keeps the bytes alive while libuv still points into them. */
  buffer: Buffer | null;
  socket: net.Socket | null;
  onSettled: (() => void) | null;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: ArrayLike<number>;
  kLastWriteWasAsync: number;
}

interface RawHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
}

interface SocketInternals {
  _handle?: RawHandle | null;
  _unrefTimer?: () => void;
  encrypted?: boolean;
}

function loadBinding(): StreamWrapBinding | null {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding("stream_wrap");
    const usable = typeof binding.WriteWrap === "function" && binding.streamBaseState !== undefined &&
      typeof binding.kLastWriteWasAsync === "number";
    return usable ? (binding as StreamWrapBinding) : null;
  } catch {
    return null;
  }
}

const binding = loadBinding();
const writeState = binding?.streamBaseState;
const lastWriteWasAsync = binding?.kLastWriteWasAsync ?? 0;

/**
 * The request object handed to the binding. Node wraps it (and libuv keeps it) only when a write
 * goes asynchronous; a write the kernel takes whole leaves it untouched, so it is reused until
 * then. Creating one costs about as much as the rest of the write.
 */
let spareReq: WriteReq | null = null;

function newReq(): WriteReq {
  const req = new binding!.WriteWrap();
  req.oncomplete = onRawWriteComplete;
  req.buffer = null;
  req.socket = null;
  req.onSettled = null;
  return req;
}

/** Raw writes made so far in this process (tests check that the fast path is in use). */
export let rawWritesMade = 0;

/**
 * True when `data` may go straight to the handle now: a plain (not TLS) connected socket whose
 * Writable holds nothing, so no earlier byte can be overtaken.
 */
export function canWriteRaw(socket: net.Socket): boolean {
  if (binding === null) return false;
  const s = socket as unknown as SocketInternals;
  return typeof s._handle?.writeBuffer === "function" && s.encrypted !== true &&
    !socket.connecting && !socket.destroyed && !socket.writableEnded && socket.writableLength === 0;
}

/**
 * Writes `data` to the socket's handle (check canWriteRaw first). `data` must not change until
 * `onSettled` runs when the result is RAW_QUEUED.
 */
export function writeRaw(socket: net.Socket, data: Buffer, onSettled: () => void): number {
  const s = socket as unknown as SocketInternals;
  const handle = s._handle!;
  const req = spareReq ?? newReq();
  spareReq = null;
  req.handle = handle;
  const err = handle.writeBuffer(req, data);
  rawWritesMade++;
  // A socket with a timeout counts writes as activity, as socket.write does.
  if (socket.timeout && s._unrefTimer !== undefined) s._unrefTimer();
  if (err !== 0) {
    socket.destroy(writeError(err));
    return RAW_FAILED;
  }
  if (writeState![lastWriteWasAsync] === 0) {
    spareReq = req;
    return RAW_SENT;
  }
  // This request now belongs to libuv until it completes.
  req.buffer = data;
  req.socket = socket;
  req.onSettled = onSettled;
  return RAW_QUEUED;
}

/** Called by libuv (through the binding) when a queued raw write finished or was cancelled. */
function onRawWriteComplete(this: WriteReq, status: number): void {
  const socket = this.socket!;
  const onSettled = this.onSettled!;
  this.buffer = null;
  this.socket = null;
  this.onSettled = null;
  if (status < 0 && !socket.destroyed) socket.destroy(writeError(status));
  onSettled();
}

function writeError(errno: number): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `errno ${errno}`;
  }
  const err: NodeJS.ErrnoException = new Error(`write ${code}`);
  err.errno = errno;
  err.code = code;
  err.syscall = "write";
  return err;
}
