// The loop both leader-side controllers run: a round on every tick and on every relevant change,
// only while this node leads, one at a time; changes that arrive during a round start one more
// round after it (coalesced), so no change is missed and rounds never overlap.
import type { Logger } from "pino";

/** How a LeaderRounds loop runs. */
export interface LeaderRoundsOptions {
  readonly tickMs: number;
  readonly isLeader: () => boolean;
  /** Called instead of a round while this node does not lead (forget per-term state). */
  readonly onNotLeader?: () => void;
  readonly round: () => Promise<void>;
  readonly logger: Logger;
  /** Names the loop in the log line of a round that did not finish. */
  readonly what: string;
}

/** Runs a controller's rounds. */
export class LeaderRounds {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(private readonly o: LeaderRoundsOptions) {}

  start(): void {
    this.timer = setInterval(() => this.poke(), this.o.tickMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs a round now, or right after the one in progress. */
  poke(): void {
    if (this.stopped) return;
    if (!this.o.isLeader()) {
      this.o.onNotLeader?.();
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.o.round().catch((err: unknown) => this.o.logger.debug({ err }, `${this.o.what} round did not finish; the next change retries`))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          setImmediate(() => this.poke());
        }
      });
  }

  /** Asks for one more round after the current one (a round that could not finish its work). */
  requestAnother(): void {
    this.again = true;
  }
}
