// The text of Redis's INFO reply: "# Section\r\nfield:value\r\n" blocks separated by an empty line,
// with INFO's section selection ("INFO", "INFO default|all|everything", "INFO keyspace server").
// The runtime supplies the values (the cluster's view: role, leader, keys per database); clients
// read some of them — ioredis's ready check waits while "loading:1", so Persistence must say
// loading:0. Sent as a verbatim string in RESP3 and a bulk string in RESP2 (RespWriter.verbatim).

/** One INFO section: its title as Redis prints it ("Server") and its fields in order. */
export interface InfoSection {
  name: string;
  fields: readonly (readonly [string, string | number])[];
}

/** The sections `INFO <args>` asks for; no argument (or default/all/everything) means all given. */
export function selectInfoSections(sections: readonly InfoSection[], args: readonly string[]): InfoSection[] {
  const wanted = args.map((a) => a.toLowerCase());
  if (wanted.length === 0 || wanted.some((a) => a === "default" || a === "all" || a === "everything")) return [...sections];
  return sections.filter((s) => wanted.includes(s.name.toLowerCase()));
}

/** INFO's text; values with CR/LF are flattened so a value cannot forge another field. */
export function infoText(sections: readonly InfoSection[]): string {
  return sections
    .map((s) => `# ${s.name}\r\n${s.fields.map(([k, v]) => `${k}:${String(v).replace(/[\r\n]/g, " ")}\r\n`).join("")}`)
    .join("\r\n");
}

/** The keyspace line of one database: "keys=3,expires=1,avg_ttl=0". */
export function keyspaceValue(keys: number, expires: number): string {
  return `keys=${keys},expires=${expires},avg_ttl=0`;
}
