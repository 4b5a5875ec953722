// Builds the `phalanx` command tree. Each subcommand lives in src/cli/commands/<name>.ts and exports
// `register<Name>(program)`; add one line below to wire a new one in.
import { Command } from "commander";
import { registerProxy } from "./commands/proxy.js";

export const PHALANX_VERSION = "0.1.0";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("phalanx")
    .description("A high-availability server cluster in one program: replicated store, load balancer, failover")
    .version(PHALANX_VERSION);
  registerProxy(program);
  return program;
}
