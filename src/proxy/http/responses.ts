// Responses the proxy makes itself (bad request, no route, no backend, upstream failure).
// Plain text bodies that say what happened, so an operator reading curl output knows where to look.
import { Buffer } from "node:buffer";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** A complete HTTP/1.1 response with a text body; `close` adds Connection: close. */
export function localResponse(status: number, body: string, close: boolean, headOnly = false): Buffer {
  const text = `${body}\n`;
  const length = Buffer.byteLength(text);
  const head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${length}\r\nCache-Control: no-store\r\n` +
    (close ? "Connection: close\r\n" : "") + "\r\n";
  return headOnly ? Buffer.from(head, "latin1") : Buffer.from(head + text, "utf8");
}
