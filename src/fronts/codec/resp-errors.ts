// Redis's wording for the command-level errors clients parse. Some clients match on the text:
// ioredis falls back from HELLO 3 to RESP2 only when the error reads like Redis's "unknown command",
// so these follow redis-server's processCommand exactly (server.c, Redis 6.2+/7).

/** Longest piece of an argument Redis echoes (its "%.128s"). */
const ECHO_CHARS_MAX = 128;
const decoder = new TextDecoder("utf-8", { fatal: false });

/** An argument as Redis echoes it: decoded, cut at a NUL (a C string) and at 128 characters. */
function echo(arg: Uint8Array, maxChars = ECHO_CHARS_MAX): string {
  const nul = arg.indexOf(0);
  const text = decoder.decode(nul === -1 ? arg : arg.subarray(0, nul));
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}

/** "ERR unknown command 'FOO', with args beginning with: 'a' 'b' " (trailing space included, as Redis). */
export function unknownCommandError(args: readonly Uint8Array[]): string {
  let echoed = "";
  for (let i = 1; i < args.length && echoed.length < ECHO_CHARS_MAX; i++) {
    echoed += `'${echo(args[i] as Uint8Array, ECHO_CHARS_MAX - echoed.length)}' `;
  }
  const name = args[0] === undefined ? "" : echo(args[0]);
  return `ERR unknown command '${name}', with args beginning with: ${echoed}`;
}

/** "ERR unknown subcommand 'foo'. Try CLIENT HELP." */
export function unknownSubcommandError(container: string, subcommand: Uint8Array): string {
  return `ERR unknown subcommand '${echo(subcommand)}'. Try ${container.toUpperCase()} HELP.`;
}

/** "ERR wrong number of arguments for 'get' command" (the name lower-cased, as Redis prints it). */
export function wrongArityError(command: string): string {
  return `ERR wrong number of arguments for '${command.toLowerCase()}' command`;
}

/** The command name of a request, upper-cased ASCII, for table lookup ("get" and "GET" are one command). */
export function commandNameOf(arg0: Uint8Array): string {
  let s = "";
  for (let i = 0; i < arg0.length; i++) {
    const c = arg0[i] as number;
    s += String.fromCharCode(c >= 0x61 && c <= 0x7a ? c - 32 : c);
  }
  return s;
}
