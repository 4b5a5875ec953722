// Size-bounded instance log files: `NAME.log` is written until the next batch would take it past
// `maxFileBytes`; then NAME.log.(keep-1) is dropped, every NAME.log.i becomes NAME.log.(i+1) and
// NAME.log becomes NAME.log.1. At most `keepFiles` rotated files plus the live one exist, so one
// instance's output never takes more than (keepFiles + 1) × maxFileBytes of disk.

export interface LogRotation {
  readonly maxFileBytes: number;
  /** Rotated files kept besides the live one. */
  readonly keepFiles: number;
}

/** Defaults: 10 MiB per file, 3 old files (40 MiB per instance at most). */
export const LOG_ROTATION_DEFAULTS: LogRotation = { maxFileBytes: 10 * 1024 * 1024, keepFiles: 3 };

/** Whether writing `incomingBytes` to a file of `currentBytes` must rotate first (never for an empty file). */
export function mustRotate(currentBytes: number, incomingBytes: number, r: LogRotation): boolean {
  return currentBytes > 0 && currentBytes + incomingBytes > r.maxFileBytes;
}

/** The renames of one rotation, oldest first so none overwrites a file still to be moved; `drop` goes first. */
export function rotationPlan(livePath: string, r: LogRotation): { drop: string | null; renames: Array<[from: string, to: string]> } {
  if (r.keepFiles === 0) return { drop: livePath, renames: [] };
  const renames: Array<[string, string]> = [];
  for (let i = r.keepFiles - 1; i >= 1; i--) renames.push([`${livePath}.${i}`, `${livePath}.${i + 1}`]);
  renames.push([livePath, `${livePath}.1`]);
  return { drop: `${livePath}.${r.keepFiles}`, renames };
}
