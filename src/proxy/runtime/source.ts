// Where configs come from. A source delivers complete, validated configs; a broken one is reported
// through onError and the runtime keeps the config in force.
import type { ProxyConfig } from "../../config/proxy.js";

/** Callbacks a source reports to. */
export interface ConfigSink {
  onConfig(config: ProxyConfig): void;
  onError(error: Error): void;
}

/** A source of proxy configs: a static file, or the store. */
export interface ConfigSource {
  /** Loads the first config and keeps delivering changes; rejects when the first load fails. */
  start(sink: ConfigSink): Promise<ProxyConfig>;
  stop(): void;
}
