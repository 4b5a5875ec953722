// A config source over a static YAML file; `reload()` (wired to SIGHUP by the command) reads it
// again and delivers it, or reports the error and leaves the config in force alone.
import { loadProxyConfig } from "../../config/loadProxy.js";
import type { ProxyConfig } from "../../config/proxy.js";
import type { ConfigSink, ConfigSource } from "./source.js";

/** Config from a YAML file. */
export class FileConfigSource implements ConfigSource {
  private sink: ConfigSink | null = null;

  constructor(readonly file: string) {}

  async start(sink: ConfigSink): Promise<ProxyConfig> {
    const config = await loadProxyConfig(this.file);
    this.sink = sink;
    return config;
  }

  /** Reads the file again; resolves true when a valid config was delivered. */
  async reload(): Promise<boolean> {
    const sink = this.sink;
    if (sink === null) return false;
    try {
      sink.onConfig(await loadProxyConfig(this.file));
      return true;
    } catch (err) {
      sink.onError(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  stop(): void {
    this.sink = null;
  }
}
