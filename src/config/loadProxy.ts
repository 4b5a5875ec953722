// Loads a proxy config file into the runtime's form, with precise errors.
import { dirname } from "node:path";
import { toProxyConfig, proxyFileSchema, type ProxyConfig } from "./proxy.js";
import { loadYamlConfig, parseYamlConfig, type ParseResult } from "./yaml.js";

/** Reads, validates and normalises a proxy config file; throws ConfigError. */
export async function loadProxyConfig(file: string): Promise<ProxyConfig> {
  return toProxyConfig(await loadYamlConfig(file, proxyFileSchema), dirname(file));
}

/** Validates proxy config text named `file` (for tests and `--check`). */
export function parseProxyConfig(text: string, file: string): ParseResult<ProxyConfig> {
  const parsed = parseYamlConfig(text, file, proxyFileSchema);
  return parsed.ok ? { ok: true, value: toProxyConfig(parsed.value, dirname(file)) } : parsed;
}
