// Builds the `phalanx` command tree. Each subcommand lives in src/cli/commands/<name>.ts and exports
// `register<Name>(program)`; add one line below to wire a new one in.
import { Command } from "commander";
import { registerAgent } from "./commands/agent.js";
import { registerAlerts } from "./commands/alerts.js";
import { registerCert } from "./commands/cert.js";
import { registerDemo } from "./commands/demo.js";
import { registerDev } from "./commands/dev.js";
import { registerInit } from "./commands/init.js";
import { registerJoin } from "./commands/join.js";
import { registerKv } from "./commands/kv.js";
import { registerLogs } from "./commands/logs.js";
import { registerMembers } from "./commands/members.js";
import { registerProxy } from "./commands/proxy.js";
import { registerServices } from "./commands/services.js";
import { registerStatus } from "./commands/status.js";

export const PHALANX_VERSION = "0.1.0";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("phalanx")
    .description("A high-availability server cluster in one program: replicated store, load balancer, failover")
    .version(PHALANX_VERSION);
  registerInit(program);
  registerAgent(program);
  registerJoin(program);
  registerDev(program);
  registerDemo(program);
  registerStatus(program);
  registerMembers(program);
  registerKv(program);
  registerCert(program);
  registerProxy(program);
  registerServices(program);
  registerLogs(program);
  registerAlerts(program);
  return program;
}
