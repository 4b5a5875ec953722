// The exec channel: runs a program (no shell) with the alert in PHALANX_ALERT_* environment
// variables, like Pacemaker's alert agents read CRM_alert_*. Exit 0 is a delivery; a non-zero exit,
// a signal or the deadline (the process is killed) is a failure to retry.
import { spawn } from "node:child_process";
import type { Alert } from "./core/model.js";
import type { AlertChannel } from "./channel.js";
import { DeliveryError } from "./channel.js";
import { alertEnv } from "./format.js";

/** Stderr kept for the error message. */
const MAX_STDERR_CHARS = 500;

/** Creates an exec channel for an absolute command path. */
export function execChannel(config: { name: string; command: string; args: readonly string[] }): AlertChannel {
  return {
    name: config.name,
    kind: "exec",
    send(alert: Alert, signal: AbortSignal): Promise<void> {
      return new Promise((resolve, reject) => {
        const child = spawn(config.command, [...config.args], {
          env: { ...process.env, ...alertEnv(alert, config.name) },
          stdio: ["ignore", "ignore", "pipe"],
          signal,
          killSignal: "SIGKILL",
        });
        let stderr = "";
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (chunk: string) => {
          if (stderr.length < MAX_STDERR_CHARS) stderr += chunk.slice(0, MAX_STDERR_CHARS - stderr.length);
        });
        child.on("error", (err: NodeJS.ErrnoException) => {
          if (signal.aborted) return reject(new DeliveryError("timeout", `Alert command ${config.command} (channel ${config.name}) was killed after its deadline`, { cause: err }));
          reject(new DeliveryError("failed", `Cannot run alert command ${config.command} (channel ${config.name}): ${err.code ?? err.message}; check the path and that it is executable`, { cause: err }));
        });
        child.on("close", (code, sig) => {
          if (code === 0) return resolve();
          if (signal.aborted) return; // the "error" event reported the timeout
          const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
          reject(new DeliveryError("failed", `Alert command ${config.command} (channel ${config.name}) ${how}${stderr === "" ? "" : `: ${stderr.trim()}`}`));
        });
      });
    },
  };
}
