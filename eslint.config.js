// Lint rules. The important one is the purity boundary: the pure cores (Raft, the KV state
// machine, the node core, the scheduler, the balancing and health decisions, the simulator's model) never touch
// the clock, randomness, timers, the process or any node:* module. Time and randomness are
// injected; inside Raft, time is ticks. See ARCHITECTURE.md.
import tseslint from "typescript-eslint";

export const PURE_CORE_FILES = [
  "src/raft/**/*.ts",
  "src/kv/**/*.ts",
  "src/scheduler/**/*.ts",
  "src/proxy/balance/**/*.ts",
  "src/proxy/health/decide*.ts",
  "src/sim/**/*.ts",
  "src/node/**/*.ts",
];
// Shell entry points inside pure folders: they measure wall time or print, and are allowed to.
export const PURE_CORE_SHELLS = ["src/sim/main.ts", "src/sim/kv/main.ts", "src/**/*.test.ts"];

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
);
