// Encoder of memcached text-protocol replies, and the per-connection choice between the text and
// binary protocols (memcached decides from the first byte a client sends: 0x80 is binary).
import { MC_BINARY_REQUEST_MAGIC } from "./memcached-binary.js";
import { OutputBuffer } from "./output-buffer.js";

/** The replies memcached's text protocol uses, besides values, numbers and stats. */
export type McTextReply =
  | "STORED" | "NOT_STORED" | "EXISTS" | "NOT_FOUND" | "DELETED" | "TOUCHED" | "OK" | "END" | "ERROR"
  | `CLIENT_ERROR ${string}` | `SERVER_ERROR ${string}`;

/** Writes text-protocol replies into one growable buffer. */
export class McTextWriter {
  readonly out: OutputBuffer;

  constructor(out: OutputBuffer = new OutputBuffer()) {
    this.out = out;
  }

  /** "VALUE <key> <flags> <bytes> [<cas unique>]\r\n<data>\r\n" (one get hit; end the reply with end()). */
  value(key: Uint8Array, flags: number, data: Uint8Array, casUnique: bigint | null = null): void {
    this.out.ascii("VALUE ");
    this.out.bytes(key);
    this.out.ascii(` ${flags >>> 0} ${data.length}`);
    if (casUnique !== null) this.out.ascii(` ${casUnique}`);
    this.out.crlf();
    this.out.bytes(data);
    this.out.crlf();
  }

  /** "END\r\n": the end of a get reply or a stats listing. */
  end(): void {
    this.line("END");
  }

  /** One reply line. CR/LF inside become spaces so a message never splits the stream. */
  line(reply: McTextReply): void {
    this.out.utf8(/[\r\n]/.test(reply) ? reply.replace(/[\r\n]/g, " ") : reply);
    this.out.crlf();
  }

  /** The new value of an incr/decr. */
  counter(value: bigint): void {
    this.out.ascii(value.toString());
    this.out.crlf();
  }

  /** "STAT <name> <value>\r\n". */
  stat(name: string, value: string | number | bigint): void {
    this.out.utf8(`STAT ${name} ${value}`.replace(/[\r\n]/g, " "));
    this.out.crlf();
  }

  /** "VERSION <version>\r\n". */
  version(version: string): void {
    this.out.utf8(`VERSION ${version}`.replace(/[\r\n]/g, " "));
    this.out.crlf();
  }

  /** The encoded replies so far; the writer is then empty. */
  take(): Uint8Array {
    return this.out.take();
  }
}

/** Which protocol a memcached connection speaks, from its first byte (as memcached decides). */
export function memcachedProtocolOf(firstByte: number): "binary" | "text" {
  return firstByte === MC_BINARY_REQUEST_MAGIC ? "binary" : "text";
}
