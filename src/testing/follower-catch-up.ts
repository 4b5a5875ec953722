// A follower that misses writes: killed, the writes made through the other nodes, restarted.
// The real-process catch-up tests (through the log or through a snapshot) share this sequence.
import { PhalanxClient } from "../client/client.js";
import type { ProcessCluster } from "./process-cluster.js";

export interface LaggingFollower {
  readonly leader: number;
  readonly victim: number;
  /** A client of the restarted follower alone; the caller closes it. */
  readonly lagging: PhalanxClient;
}

/** Kills a follower of a 3-node cluster, runs `write` with a client of the other two, restarts the follower. */
export async function restartAfterMissedWrites(cluster: ProcessCluster, write: (client: PhalanxClient) => Promise<void>): Promise<LaggingFollower> {
  const leader = await cluster.leader();
  const victim = [1, 2, 3].find((id) => id !== leader)!;
  await cluster.kill(victim);
  const client = cluster.client({ endpoints: cluster.endpoints([1, 2, 3].filter((id) => id !== victim)) });
  try {
    await write(client);
  } finally {
    await client.close();
  }
  await cluster.restart(victim);
  return { leader, victim, lagging: new PhalanxClient({ endpoints: cluster.endpoints([victim]), token: cluster.token }) };
}
