// The command line of the benchmarks that take `--quick` and numeric `--name value` options.

/** The arguments after the script. */
export const argv = process.argv.slice(2);
/** `--quick`: smaller figures for a smoke run. */
export const QUICK = argv.includes("--quick");

/** The number after `name`, or `fallback` when `name` is absent. */
export function opt(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}
