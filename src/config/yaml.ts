// Loads a YAML file through a zod schema and reports every problem with file, line, column, field
// path, what is wrong and what to do. Positions come from the `yaml` package's document nodes: a
// zod issue path is looked up in the document and the nearest existing node gives the place.
import { readFile } from "node:fs/promises";
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors.js";

/** Bound on issues reported for one file: the first ones are what matters. */
export const MAX_CONFIG_ISSUES = 50;
/** Bound on config file size. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Outcome of parsing a config text. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Parses YAML `text` (named `file` in messages) and validates it with `schema`. */
export function parseYamlConfig<T>(text: string, file: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): ParseResult<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.slice(0, MAX_CONFIG_ISSUES).map((e): ConfigIssue => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return { file, line: pos.line, column: pos.col, path: "", message: `Invalid YAML: ${firstLine(e.message)}`, hint: "fix the YAML syntax at this place" };
    });
    return { ok: false, issues };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const result = schema.safeParse(data ?? {});
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.flatMap((issue) => toConfigIssues(issue, doc, lineCounter, file));
  return { ok: false, issues: issues.slice(0, MAX_CONFIG_ISSUES) };
}

/** Reads and validates a YAML file; throws ConfigError with every problem found. */
export async function loadYamlConfig<T>(file: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): Promise<T> {
  const parsed = parseYamlConfig(await loadYamlText(file), file, schema);
  if (!parsed.ok) throw new ConfigError("config_invalid", parsed.issues);
  return parsed.value;
}

/** Reads a config file's text within MAX_CONFIG_BYTES; throws ConfigError when it cannot. */
export async function loadYamlText(file: string): Promise<string> {
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new ConfigError("config_invalid", [{ file, line: 0, column: 0, path: "", message: `File is ${bytes.length} bytes, over the limit of ${MAX_CONFIG_BYTES}`, hint: "split or trim the file" }]);
    }
    return bytes.toString("utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new ConfigError("config_unreadable", [{ file, line: 0, column: 0, path: "", message: `Cannot read file: ${detail}`, hint: "check the path and its permissions" }], { cause: err });
  }
}

/** Renders a zod path as `frontends[0].listen`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

function toConfigIssues(issue: z.ZodIssue, doc: Document, lc: LineCounter, file: string): ConfigIssue[] {
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return {
        file,
        ...locate(doc, lc, path, true),
        path: formatPath(path),
        message: `Unknown field "${key}"`,
        hint: "remove it or check its spelling",
      };
    });
  }
  const { message, hint } = describe(issue, doc);
  return [{ file, ...locate(doc, lc, issue.path, false), path: formatPath(issue.path), message, hint }];
}

/** Finds the node at `path`, or the nearest existing ancestor; `atKey` points at a map key instead. */
function locate(doc: Document, lc: LineCounter, path: readonly (string | number)[], atKey: boolean): { line: number; column: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    let offset: number | undefined;
    if (atKey && depth === path.length && depth > 0) {
      const parent = prefix.length === 1 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === prefix[prefix.length - 1]);
        if (pair && isNode(pair.key)) offset = pair.key.range?.[0];
      }
    } else {
      const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
      if (isNode(node)) offset = node.range?.[0];
    }
    if (offset !== undefined) {
      const pos = lc.linePos(offset);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

function describe(issue: z.ZodIssue, doc: Document): { message: string; hint: string } {
  const field = issue.path[issue.path.length - 1];
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type: {
      const present = issue.path.length === 0 || doc.hasIn(issue.path);
      if (issue.received === "undefined" && !present) {
        return { message: `Missing required field "${String(field)}"`, hint: `add "${String(field)}" (${issue.expected})` };
      }
      return { message: `Expected ${issue.expected}, got ${issue.received}`, hint: `write a ${issue.expected} here` };
    }
    case z.ZodIssueCode.invalid_enum_value:
      return { message: `Invalid value "${String(issue.received)}"`, hint: `use one of: ${issue.options.map(String).join(", ")}` };
    case z.ZodIssueCode.invalid_union_discriminator:
      return { message: "Invalid kind", hint: `use one of: ${issue.options.map(String).join(", ")}` };
    case z.ZodIssueCode.invalid_literal:
      return { message: `Invalid value, expected ${JSON.stringify(issue.expected)}`, hint: `write ${JSON.stringify(issue.expected)}` };
    case z.ZodIssueCode.too_small:
      return { message: sentence(issue.message), hint: issue.type === "array" ? "add entries" : issue.type === "string" ? `write at least ${String(issue.minimum)} character(s)` : `use a value of at least ${String(issue.minimum)}` };
    case z.ZodIssueCode.too_big:
      return { message: sentence(issue.message), hint: issue.type === "array" ? "remove entries" : `use a value of at most ${String(issue.maximum)}` };
    case z.ZodIssueCode.custom: {
      const params = issue.params as { hint?: string } | undefined;
      // Our own messages are already written in house style.
      return { message: issue.message, hint: params?.hint ?? "" };
    }
    default:
      return { message: sentence(issue.message), hint: "" };
  }
}

function sentence(text: string): string {
  const trimmed = text.trim().replace(/\.$/, "");
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").replace(/\.$/, "");
}
