#!/usr/bin/env node
// The installed entry point runs the compiled CLI; `npm ci` builds it through the `prepare` script.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write("phalanx is not built: run `npm run build` in the package directory, then try again\n");
  process.exit(70);
}
await import(compiled);
