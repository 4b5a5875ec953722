// `phalanx proxy --config FILE`: runs the load balancer from a static YAML file. SIGHUP reloads the
// file (a broken file is logged and the running config stays); SIGTERM/SIGINT stop accepting,
// drain in-flight requests, then exit. `--check` validates the file and exits. `--store` takes the
// config from the cluster's store instead and follows changes through a watch.
import type { Command } from "commander";
import { pino, type Logger } from "pino";
import { ConfigError } from "../../config/errors.js";
import { loadProxyConfig } from "../../config/loadProxy.js";
import type { ProxyConfig } from "../../config/proxy.js";
import { BUILTIN_FRONTEND_FACTORIES } from "../../proxy/runtime/factories.js";
import { PhalanxClient } from "../../client/client.js";
import { kvWatchClientFrom } from "../../proxy/runtime/clientAdapter.js";
import { FileConfigSource } from "../../proxy/runtime/fileSource.js";
import type { ConfigSource } from "../../proxy/runtime/source.js";
import { DEFAULT_PROXY_PREFIX, StoreConfigSource } from "../../proxy/runtime/storeSource.js";
import { DEFAULT_DRAIN_GRACE_MS, ProxyRuntime } from "../../proxy/runtime/runtime.js";

/** Exit codes of `phalanx proxy`. */
export const PROXY_EXIT = { ok: 0, startFailed: 1, badConfig: 2 } as const;

/** Where the command writes its own (non-log) output; injectable for tests. */
export interface CommandOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processOutput: CommandOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Options of `phalanx proxy`, as commander parses them. */
export interface ProxyOptions {
  readonly config?: string;
  readonly store?: boolean;
  readonly endpoints?: string;
  readonly token?: string;
  readonly prefix?: string;
  readonly check?: boolean;
  readonly logLevel: string;
  readonly drainGraceMs: string;
}

/** Adds `phalanx proxy` to the program. */
export function registerProxy(program: Command): void {
  program
    .command("proxy")
    .description("Run the load balancer (HTTP/HTTPS/TCP frontends, health checks, draining) from a YAML config file or the cluster's store")
    .option("-c, --config <file>", "proxy config file (YAML: admin, frontends, pools; see src/proxy/README.md)")
    .option("--store", "take frontends and pools from the cluster's store (keys under --prefix) and follow changes live, instead of a file")
    .option("--endpoints <list>", "with --store: client addresses of cluster nodes (default: $PHALANX_ENDPOINTS or 127.0.0.1:2379)")
    .option("--token <token>", "with --store: cluster client token (default: $PHALANX_TOKEN)")
    .option("--prefix <prefix>", "with --store: key prefix of the proxy config", DEFAULT_PROXY_PREFIX)
    .option("--check", "validate the config file, print a summary and exit (0 valid, 2 invalid)")
    .option("--log-level <level>", "pino log level: fatal, error, warn, info, debug, trace", "info")
    .option("--drain-grace-ms <ms>", "how long in-flight requests may take to finish on shutdown or removal", String(DEFAULT_DRAIN_GRACE_MS))
    .addHelpText(
      "after",
      [
        "",
        "Signals:",
        "  SIGHUP           reload the config file; a broken file is logged and the running config stays",
        "  SIGTERM, SIGINT  stop accepting, let in-flight requests finish (up to --drain-grace-ms), exit",
        "",
        "Exit codes: 0 stopped cleanly or config valid, 1 a frontend could not start, 2 invalid config.",
      ].join("\n"),
    )
    .action(async (options: ProxyOptions) => {
      process.exitCode = await runProxy(options);
    });
}

/** Runs the command; resolves with the exit code once the proxy has stopped (or at once for --check and errors). */
export async function runProxy(options: ProxyOptions, out: CommandOutput = processOutput): Promise<number> {
  const graceMs = Number(options.drainGraceMs);
  if (!Number.isInteger(graceMs) || graceMs < 0) {
    out.stderr(`Cannot run the proxy: --drain-grace-ms must be a whole number of milliseconds, got "${options.drainGraceMs}"\n`);
    return PROXY_EXIT.badConfig;
  }
  if ((options.config === undefined) === (options.store !== true)) {
    out.stderr("Cannot run the proxy: give either --config FILE or --store\n");
    return PROXY_EXIT.badConfig;
  }
  if (options.check === true && options.config !== undefined) return checkConfig(options.config, out);

  const logger = pino({ level: options.logLevel, base: { component: "proxy" } });
  const source = options.config !== undefined ? new FileConfigSource(options.config) : storeSource(options);
  const runtime = new ProxyRuntime({ logger, factories: BUILTIN_FRONTEND_FACTORIES, drainGraceMs: graceMs });
  // While starting, SIGHUP (whose default would end the process) is ignored and a stop signal
  // exits at once: nothing has been served yet, so there is nothing to drain.
  const earlyHup = (): void => logger.warn("SIGHUP while starting: ignored, send it again once the proxy runs");
  const earlyStop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, "Stop signal while starting: exiting");
    process.exit(PROXY_EXIT.ok);
  };
  process.on("SIGHUP", earlyHup);
  process.on("SIGTERM", earlyStop);
  process.on("SIGINT", earlyStop);
  let config: ProxyConfig;
  try {
    const started = await startUp(runtime, source, logger, out);
    if (typeof started === "number") return started;
    config = started;
  } finally {
    process.off("SIGHUP", earlyHup);
    process.off("SIGTERM", earlyStop);
    process.off("SIGINT", earlyStop);
  }
  logger.info({ file: options.config ?? null, store: options.store === true ? options.prefix ?? DEFAULT_PROXY_PREFIX : null, admin: runtime.adminAddress() ?? null, frontends: config.frontends.map((f) => ({ name: f.name, address: runtime.frontendAddress(f.name) })) }, "Proxy running");
  return waitForShutdown(runtime, source, logger, graceMs);
}

/** Loads the file and applies it; returns the config, or an exit code when the proxy cannot start. */
/** A source over the store: the SDK, adapted to the source's watch interface. */
function storeSource(options: ProxyOptions): StoreConfigSource {
  const endpoints = (options.endpoints ?? process.env.PHALANX_ENDPOINTS ?? "127.0.0.1:2379").split(",").map((e) => e.trim()).filter((e) => e !== "");
  const token = options.token ?? process.env.PHALANX_TOKEN;
  const client = new PhalanxClient({ endpoints, ...(token ? { token } : {}) });
  return new StoreConfigSource(kvWatchClientFrom(client), { prefix: options.prefix ?? DEFAULT_PROXY_PREFIX });
}

const sourceName = (source: ConfigSource): string => (source instanceof FileConfigSource ? source.file : "the store");

async function startUp(runtime: ProxyRuntime, source: ConfigSource, logger: Logger, out: CommandOutput): Promise<ProxyConfig | number> {
  let config: ProxyConfig;
  try {
    config = await source.start({
      onConfig: (next) => applyReload(runtime, next, logger),
      onError: (err) => logger.error({ source: sourceName(source) }, `Config reload refused, keeping the running config: ${err.message}`),
    });
  } catch (err) {
    out.stderr(`${(err as Error).message}\n`);
    return err instanceof ConfigError ? PROXY_EXIT.badConfig : PROXY_EXIT.startFailed;
  }
  try {
    const result = await runtime.apply(config);
    if (result.failures.length === 0) return config;
    for (const f of result.failures) out.stderr(`Cannot start frontend ${f.frontend}: ${f.error.message}\n`);
    await runtime.stop(0);
    return PROXY_EXIT.startFailed;
  } catch (err) {
    out.stderr(`${(err as Error).message}\n`);
    await runtime.stop(0);
    return PROXY_EXIT.badConfig;
  }
}

function applyReload(runtime: ProxyRuntime, config: ProxyConfig, logger: Logger): void {
  runtime.apply(config).then(
    (result) => {
      for (const f of result.failures) logger.error({ frontend: f.frontend }, `Cannot start frontend ${f.frontend}: ${f.error.message}`);
      logger.info({ frontends: config.frontends.length, pools: config.pools.length }, "Config reloaded");
    },
    (err: unknown) => logger.error({ err }, `Config reload refused, keeping the running config: ${(err as Error).message}`),
  );
}

function waitForShutdown(runtime: ProxyRuntime, source: ConfigSource, logger: Logger, graceMs: number): Promise<number> {
  return new Promise((resolve) => {
    const onHup = (): void => {
      if (!(source instanceof FileConfigSource)) return void logger.info("SIGHUP: the store source follows changes live; nothing to reload");
      logger.info({ file: source.file }, "SIGHUP: reloading the config file");
      void source.reload();
    };
    let stopping = false;
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, "Second stop signal: exiting without waiting for the drain");
        process.exit(PROXY_EXIT.startFailed);
      }
      stopping = true;
      logger.info({ signal, graceMs }, "Stopping: draining in-flight requests");
      source.stop();
      process.off("SIGHUP", onHup);
      void runtime.stop(graceMs).then(() => {
        logger.info("Proxy stopped");
        process.off("SIGTERM", onStop);
        process.off("SIGINT", onStop);
        resolve(PROXY_EXIT.ok);
      });
    };
    process.on("SIGHUP", onHup);
    process.on("SIGTERM", onStop);
    process.on("SIGINT", onStop);
  });
}

async function checkConfig(file: string, out: CommandOutput): Promise<number> {
  try {
    const config = await loadProxyConfig(file);
    const backends = config.pools.reduce((n, p) => n + p.backends.length, 0);
    out.stdout(`Config ${file} is valid: ${config.frontends.length} frontends, ${config.pools.length} pools, ${backends} backends\n`);
    return PROXY_EXIT.ok;
  } catch (err) {
    out.stderr(`${(err as Error).message}\n`);
    return err instanceof ConfigError ? PROXY_EXIT.badConfig : PROXY_EXIT.startFailed;
  }
}
