// Loading service files. A file holds either ONE service (a mapping with `name:`) or SEVERAL under
// `services:` (a list). We chose a list over a YAML stream of `---` documents because one document
// keeps every error position exact with the shared loader (yaml.ts) and a file stays one value that
// is applied all at once or not at all. Several documents are refused with a message saying so.
import { parseAllDocuments, isMap, isScalar, isPair } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { checkService, serviceObjectSchema, toServiceSpec, type AddIssue, type ServiceSpec } from "./service.js";
import { loadYamlText, parseYamlConfig, type ParseResult } from "./yaml.js";

/** Bound on services in one file. */
export const MAX_SERVICES_PER_FILE = 500;

function issueSink(ctx: z.RefinementCtx): AddIssue {
  return (path, message, hint) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, params: { hint } });
}

/** A file with one service at the top. */
export const singleServiceFileSchema = serviceObjectSchema.superRefine((s, ctx) => checkService(s, [], issueSink(ctx)));

/** A file with `services:` (a list of services). */
export const serviceListFileSchema = z.object({
  services: z.array(serviceObjectSchema).min(1, { message: "The services list is empty" }).max(MAX_SERVICES_PER_FILE),
}).strict().superRefine((file, ctx) => {
  const add = issueSink(ctx);
  file.services.forEach((s, i) => checkService(s, ["services", i], add));
  checkAcrossServices(file.services, add);
});

type RawList = z.output<typeof serviceListFileSchema>["services"];

/** Rules between the services of one file: names and balancer addresses are cluster-wide. */
function checkAcrossServices(services: RawList, add: AddIssue): void {
  const names = new Map<string, number>();
  const listens = new Map<string, string>();
  const exposedPorts = new Map<number, string>();
  services.forEach((s, i) => {
    if (names.has(s.name)) add(["services", i, "name"], `Duplicate service name "${s.name}" (also services[${names.get(s.name)}])`, "give every service its own name");
    else names.set(s.name, i);
    if (s.expose === undefined) return;
    const key = `${s.expose.listen.host}:${s.expose.listen.port}`;
    const other = listens.get(key);
    if (other !== undefined) add(["services", i, "expose", "listen"], `Address ${key} is already exposed by service "${other}"`, "every node's proxy listens there: pick another port");
    else listens.set(key, s.name);
    exposedPorts.set(s.expose.listen.port, s.name);
  });
  // Every node's proxy listens on each exposed port, so an instance may not take the same port.
  services.forEach((s, i) => s.ports.forEach((p, j) => {
    const owner = p.port === undefined ? undefined : exposedPorts.get(p.port);
    if (owner !== undefined) add(["services", i, "ports", j, "port"], `Port ${p.port} is where every node's proxy serves service "${owner}"`, "use another port, or leave port: out to get a free one");
  }));
}

/** Validates service file text named `file`: every service, or every problem found. */
export function parseServiceFile(text: string, file: string): ParseResult<readonly ServiceSpec[]> {
  const shape = fileShape(text, file);
  if (typeof shape !== "string") return { ok: false, issues: [shape] };
  if (shape === "list") {
    const parsed = parseYamlConfig(text, file, serviceListFileSchema);
    return parsed.ok ? { ok: true, value: parsed.value.services.map(toServiceSpec) } : parsed;
  }
  const parsed = parseYamlConfig(text, file, singleServiceFileSchema);
  return parsed.ok ? { ok: true, value: [toServiceSpec(parsed.value)] } : parsed;
}

/** Reads and validates a service file; throws ConfigError with every problem found. */
export async function loadServiceFile(file: string): Promise<readonly ServiceSpec[]> {
  const parsed = parseServiceFile(await loadYamlText(file), file);
  if (!parsed.ok) throw new ConfigError("config_invalid", parsed.issues);
  return parsed.value;
}

/** "list" when the top mapping has `services:`, "single" otherwise, or the issue of a YAML stream. */
function fileShape(text: string, file: string): "list" | "single" | ConfigIssue {
  const docs = parseAllDocuments(text);
  if (Array.isArray(docs) && docs.length > 1) {
    const second = docs[1]?.range?.[0] ?? 0;
    const line = text.slice(0, second).split("\n").length;
    return { file, line, column: 1, path: "", message: "A service file holds one YAML document, this one has several", hint: "put the services in one document under services: as a list" };
  }
  const top = Array.isArray(docs) ? docs[0]?.contents : undefined;
  const hasList = isMap(top) && top.items.some((p) => isPair(p) && isScalar(p.key) && p.key.value === "services");
  return hasList ? "list" : "single";
}
