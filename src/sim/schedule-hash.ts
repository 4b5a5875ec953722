// A running hash of everything a schedule did. Two runs of one seed must end with the same value,
// so a change that claims to keep behaviour can be checked seed by seed; both simulators mix the
// same way so their hashes mean the same thing.

/** A 53-bit running hash of (code, value, virtual time) triples. */
export class ScheduleHash {
  private a = 0x12345678;
  private b = 0x9abcdef0;

  /** Mixes one happening: `a` and `b` say what it was, `nowUs` when. */
  mix(a: number, b: number, nowUs: number): void {
    this.a = Math.imul(this.a ^ a, 0x01000193) ^ b;
    this.b = Math.imul(this.b ^ b, 0x5bd1e995) ^ (nowUs | 0);
  }

  /** The hash so far, a safe integer (fits a JSON number exactly). */
  get value(): number {
    return (this.a >>> 0) * 0x200000 + ((this.b >>> 0) & 0x1fffff);
  }
}
