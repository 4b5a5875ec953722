// Fixture for harness.test.ts (`hold-net.ts [PREFIX]`): starts a host harness with a probe on h1, prints
// {"prefix","pids"} as one JSON line, then waits until stdin closes or a signal ends it. The test
// kills this process to check what its exit hooks (SIGTERM) or cleanupStale() (SIGKILL) remove.
import { HostNet } from "../harness.js";
import { Prober } from "../probe.js";

// The test passes its own prefix so no parallel harness's cleanupStale touches these namespaces.
const net = await HostNet.start({ hosts: 2, namespacePrefix: process.argv[2] ?? "phxhold-" });
const probe = await Prober.start(net, "h1");
process.stdout.write(`${JSON.stringify({ prefix: net.prefix, pids: [probe.process.pid] })}\n`);
process.stdin.resume();
process.stdin.on("end", () => void net.close().then(() => process.exit(0)));
