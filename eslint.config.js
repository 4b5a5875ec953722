// Lint rules. The important one is the purity boundary: the pure cores (Raft, the KV state
// machine, the node core, the scheduler, the balancing and health decisions, the simulator's model) never touch
// the clock, randomness, timers, the process or any node:* module. Time and randomness are
// injected; inside Raft, time is ticks. See ARCHITECTURE.md.
// The second is the layering: a module imports only from its own layer and the layers below it
// (`phalanx/layers`, lint-rules/layers.js, with the table in LAYERS below).
import tseslint from "typescript-eslint";
import { phalanxPlugin } from "./lint-rules/layers.js";

export const PURE_CORE_FILES = [
  "src/raft/**/*.ts",
  "src/kv/**/*.ts",
  "src/node/**/*.ts",
  "src/scheduler/**/*.ts",
  "src/proxy/balance/**/*.ts",
  "src/proxy/health/decide*.ts",
  "src/proxy/types.ts",
  "src/agent/core/**/*.ts",
  "src/sim/**/*.ts",
  "src/fronts/codec/**/*.ts",
  "src/alerts/core/**/*.ts",
  "src/failover/*.ts",
  "src/vip/core/**/*.ts",
];
// Shell entry points inside pure folders: they measure wall time or print, and are allowed to.
export const PURE_CORE_SHELLS = ["src/sim/main.ts", "src/sim/kv/main.ts", "src/sim/failover/main.ts", "src/**/*.test.ts"];

const bannedTimeAndProcessGlobals = [
  "setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate",
  "queueMicrotask", "Date", "performance", "process", "console", "require", "Buffer",
].map((name) => ({ name, message: `Pure cores must not use ${name}: inject time, I/O and logging from the shell` }));

export const pureCoreRules = {
  "no-restricted-imports": ["error", {
    patterns: [{
      group: ["node:*", "fs", "fs/*", "net", "tls", "http", "https", "crypto", "os", "path", "child_process",
        "dgram", "dns", "events", "stream", "timers", "timers/*", "perf_hooks", "process", "worker_threads",
        "pino", "undici", "prom-client"],
      message: "Pure cores must not import I/O modules: take inputs and return decisions",
    }],
  }],
  "no-restricted-globals": ["error", ...bannedTimeAndProcessGlobals],
  "no-restricted-properties": ["error",
    { object: "Math", property: "random", message: "Pure cores must not draw random numbers: inject a seeded generator" },
    { object: "globalThis", message: "Pure cores must not reach globals through globalThis" },
  ],
};

// The layers, lowest first. A file belongs to the first layer whose `files` match; it may import
// its own layer and those in `mayImport`. Tests (*.test.ts) are not shipped and may import anything
// (the simulator's checkers, the process harness). Every folder of src/ must be placed here.
const PURE_CORE_LAYER_FILES = [
  "src/raft/**", "src/kv/**", "src/scheduler/**",
  "src/proxy/balance/**", "src/proxy/health/decide*.ts",
  "src/proxy/types.ts", // the proxy's vocabulary (types only), shared by config and the decisions
  "src/agent/core/**", // the supervisor's decisions: restart/backoff, health, instance life, ports
  "src/fronts/codec/**", // RESP and memcached wire codecs: bytes in, commands out; replies in, bytes out
  "src/alerts/core/**", // the alert rules and the outbox's decisions
  "src/failover/*.ts", // failover decisions: fencing deadlines, the active record, promotion, flap damping
  "src/vip/core/**", // virtual IP decisions: hold / release / announce against the fencing point; address parsing
];
export const LAYERS = [
  // Pure cores: decisions only (the purity rule above holds them to that).
  { name: "pure-core", files: PURE_CORE_LAYER_FILES, mayImport: [] },
  // The deterministic node core: Raft + KV + proposals/reads + apply, every side effect injected.
  { name: "node-core", files: ["src/node/**"], mayImport: ["pure-core"] },
  // The simulator drives the pure cores and the node core; nothing shipped depends on it.
  { name: "sim", files: ["src/sim/**"], mayImport: ["pure-core", "node-core"] },
  // The one atomic file write, below everything that writes files.
  { name: "fsutil", files: ["src/fsutil/**"], mayImport: [] },
  // I/O adapters and libraries: disk, network, certificates, the SDK, config loading.
  { name: "io", files: ["src/storage/**", "src/transport/**", "src/pki/**", "src/client/**", "src/config/**"], mayImport: ["pure-core", "node-core", "fsutil"] },
  // Runtimes that wire cores and adapters into a running node or proxy.
  { name: "runtime", files: ["src/server/**", "src/proxy/**", "src/agent/**", "src/fronts/**", "src/alerts/**", "src/failover/watchdog/**", "src/failover/runtime/**", "src/vip/**"], mayImport: ["pure-core", "node-core", "fsutil", "io"] },
  { name: "cli", files: ["src/cli/**"], mayImport: ["pure-core", "node-core", "fsutil", "io", "runtime"] },
  // Harnesses only tests use; left out of the build (tsconfig.build.json).
  { name: "testing", files: ["src/testing/**"], mayImport: ["pure-core", "node-core", "sim", "fsutil", "io", "runtime", "cli"] },
  // Lint's own tests.
  { name: "lint", files: ["src/lint/**"], mayImport: [] },
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".*/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-exports": ["error", { restrictDefaultExports: { direct: true, named: true, defaultFrom: true, namedFrom: true, namespaceFrom: true } }],
    },
  },
  { files: ["eslint.config.js"], rules: { "no-restricted-exports": "off" } },
  { files: PURE_CORE_FILES, ignores: PURE_CORE_SHELLS, rules: pureCoreRules },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/**/*.test.ts"],
    plugins: { phalanx: phalanxPlugin },
    rules: { "phalanx/layers": ["error", { layers: LAYERS }] },
  },
);
