// Process entry of the `phalanx` command: parse arguments, run, map failures to exit codes.
import { buildProgram } from "./program.js";

await buildProgram().parseAsync(process.argv);
