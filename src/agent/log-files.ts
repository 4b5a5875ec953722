// Instance output in files, for `phalanx logs`: DIR/SERVICE/INSTANCE.log, one line per output
// line ("<ISO time> <stdout|stderr> <text>"), rotated by size (core/log-rotation.ts). Lines of one
// event-loop turn are written together with one write, so a chatty instance costs one syscall
// per turn, not one per line; a batch is bounded so memory is too.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LOG_ROTATION_DEFAULTS, mustRotate, rotationPlan, type LogRotation } from "./core/log-rotation.js";

/** Bound on bytes waiting for one write; past it the batch is written at once. */
const MAX_BATCH_BYTES = 256 * 1024;

/** One instance's log file. */
export class InstanceLogFile {
  private fd: number;
  private size: number;
  private batch: string[] = [];
  private batchBytes = 0;
  private scheduled = false;
  private closed = false;

  /** `onError`: a write or rotation failed (disk full, permissions); the file is given up. */
  constructor(
    readonly path: string,
    private readonly rotation: LogRotation = LOG_ROTATION_DEFAULTS,
    private readonly onError: (err: Error) => void = (err) => { throw err; },
  ) {
    this.fd = openSync(path, "a", 0o640);
    this.size = fstatSync(this.fd).size;
  }

  /** Appends one line (without its newline). */
  write(stream: "stdout" | "stderr", line: string, atMs: number = Date.now()): void {
    if (this.closed) return;
    const text = `${new Date(atMs).toISOString()} ${stream} ${line}\n`;
    this.batch.push(text);
    this.batchBytes += Buffer.byteLength(text);
    if (this.batchBytes >= MAX_BATCH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is waiting (also called on each turn and by close()). */
  flush(): void {
    this.scheduled = false;
    if (this.batch.length === 0 || this.closed) return;
    const data = Buffer.from(this.batch.join(""));
    this.batch = [];
    this.batchBytes = 0;
    try {
      if (mustRotate(this.size, data.length, this.rotation)) this.rotate();
      writeSync(this.fd, data);
      this.size += data.length;
    } catch (err) {
      // Output to the logger goes on; the file stops rather than take the agent down.
      this.closed = true;
      this.closeFd();
      this.onError(err as Error);
    }
  }

  close(): void {
    this.flush();
    this.closed = true;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private rotate(): void {
    this.closeFd();
    const plan = rotationPlan(this.path, this.rotation);
    if (plan.drop !== null) rmSync(plan.drop, { force: true });
    for (const [from, to] of plan.renames) {
      try {
        renameSync(from, to);
      } catch (err) {
        // An older file that does not exist yet (the first rotations) is expected; anything else is not.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    this.fd = openSync(this.path, "a", 0o640);
    this.size = 0;
  }
}

/** The log file of an instance under `dir`, creating DIR/SERVICE. */
export function openInstanceLog(
  dir: string,
  service: string,
  instanceId: string,
  options: { rotation?: LogRotation; onError?: (err: Error) => void } = {},
): InstanceLogFile {
  const serviceDir = join(dir, service);
  mkdirSync(serviceDir, { recursive: true, mode: 0o750 });
  return new InstanceLogFile(join(serviceDir, `${instanceId}.log`), options.rotation, options.onError);
}

/** Path of an instance's live log file (readers: `phalanx logs`). */
export function instanceLogPath(dir: string, service: string, instanceId: string): string {
  return join(dir, service, `${instanceId}.log`);
}
