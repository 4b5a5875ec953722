#!/usr/bin/env node
// The installed entry point runs the compiled CLI; `npm ci` builds it through the `prepare` script.
// It checks the Node.js version first, in syntax every old Node parses, so an old Node gets one
// line saying what to do rather than a stack trace from code it cannot run.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Keep in step with "engines" in package.json.
const REQUIRED_NODE = [20, 18, 1];
const have = process.versions.node.split(".").map(Number);
function older(a, b) {
  for (let i = 0; i < b.length; i++) if ((a[i] || 0) !== b[i]) return (a[i] || 0) < b[i];
  return false;
}
const tooOld = older(have, REQUIRED_NODE);
if (tooOld) {
  process.stderr.write(`phalanx needs Node.js ${REQUIRED_NODE.join(".")} or newer, and this is Node.js ${process.versions.node} (${process.execPath}): install a current Node.js (https://nodejs.org, or \`nvm install 22\`), then try again\n`);
  process.exit(69);
}

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write("phalanx is not built: run `npm run build` in the package directory, then try again\n");
  process.exit(70);
}
await import(compiled);
