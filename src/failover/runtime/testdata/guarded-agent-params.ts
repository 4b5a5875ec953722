// Fencing settings of the guarded-agent test: a short lease and a wide safety margin, so that the
// order "instance dead, then the lease may expire" holds on a loaded test machine too.
import type { FencingParams } from "../../fencing.js";

export const GUARDED_AGENT_PARAMS: FencingParams = { leaseTtlMs: 1000, clockRateErrorMax: 0.005, safetyMarginMs: 300, stopTimeoutMs: 100, renewIntervalMs: 150 };
