// `phalanx agent --config FILE`: runs one node until SIGTERM/SIGINT.
import type { Command } from "commander";
import { pino } from "pino";
import { ConfigError } from "../../config/errors.js";
import { startNode } from "../../server/agent.js";
import type { RunningNode } from "../../server/agent.js";
import { loadNodeConfig } from "../../server/node-config.js";

/** Adds `phalanx agent`. */
export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description("Run this node: replicated store, client API, peer transport, and the service instances placed on it")
    .requiredOption("-c, --config <file>", "node config file written by `phalanx init`, `join` or `dev`")
    .addHelpText("after", "\nSignals: SIGTERM, SIGINT stop the node cleanly (its service instances first, then it leaves the node registry). Exit codes: 0 stopped, 1 failed, 2 invalid config, 70 a broken invariant (a bug: the fatal log line says which; restart the node and report it).")
    .action(async (o: { config: string }) => {
      let config;
      try {
        config = await loadNodeConfig(o.config);
      } catch (err) {
        process.stderr.write(`${err instanceof ConfigError ? err.message : `phalanx: ${(err as Error).message}`}\n`);
        process.exitCode = 2;
        return;
      }
      const base = pino({ level: config.log.level });
      // startNode binds `node` on its own lines; the lines logged here name it too (JSON lines with the node on every one).
      const logger = base.child({ node: config.node.id });
      let node: RunningNode | undefined;
      try {
        node = await startNode(config, base, {
          // A removed member stops (as etcd's does) instead of serving a view that no longer changes.
          onRemoved: () => {
            logger.warn("removed from the cluster: stopping");
            void node?.stop().then(() => process.exit(0));
          },
        });
      } catch (err) {
        logger.fatal({ err }, (err as Error).message);
        process.exitCode = 1;
        return;
      }
      const running = node;
      const stop = (): void => {
        void running.stop().then(() => process.exit(0), (err: unknown) => {
          logger.error({ err }, "stop failed");
          process.exit(1);
        });
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
}
