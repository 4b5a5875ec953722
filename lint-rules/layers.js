// ESLint rule `phalanx/layers`: a module may import only from its own layer and the layers its
// layer lists as below it (vscode's "layers" rule, in small). Every relative import, type-only
// imports, re-exports and literal dynamic import() included, is resolved to a path under src/ and
// both ends are classified by the layer table in eslint.config.js. A file under src/ that no layer
// claims is an error too, so a new folder has to be placed in the table before it can land.
import { posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

// Paths are taken relative to the repository (this file's parent folder), not to wherever eslint
// was started, so the rule judges the same file the same way from any working directory.
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** "src/proxy/health/decide*.ts" → a RegExp: `**` any path, `*` any name part. */
function globToRegExp(glob) {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
      if (glob[i + 1] === "/") i++; // "**/" also matches no folder at all
    } else if (c === "*") out += "[^/]*";
    else out += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/** Compiles `[{ name, files, mayImport }]` into a classifier; the first layer whose files match wins. */
function compile(layers) {
  const matchers = layers.map((l) => ({ name: l.name, res: l.files.map(globToRegExp), mayImport: new Set([l.name, ...l.mayImport]) }));
  return (path) => matchers.find((m) => m.res.some((re) => re.test(path))) ?? null;
}

/** The target of a relative specifier, as a src/-relative .ts path; null for packages and node:*. */
function resolveSpecifier(fromPath, specifier) {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  const target = posix.normalize(posix.join(posix.dirname(fromPath), specifier));
  return target.replace(/\.js$/, ".ts");
}

/** @type {import("eslint").Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: "problem",
    docs: { description: "Layers import downward only (pure cores ← storage/transport/pki/client/config ← server/proxy/agent ← cli)" },
    schema: [{
      type: "object",
      properties: {
        layers: {
          type: "array",
          items: {
            type: "object",
            properties: { name: { type: "string" }, files: { type: "array", items: { type: "string" } }, mayImport: { type: "array", items: { type: "string" } } },
            required: ["name", "files", "mayImport"],
            additionalProperties: false,
          },
        },
      },
      required: ["layers"],
      additionalProperties: false,
    }],
    messages: {
      upward: "{{from}} (layer {{fromLayer}}) must not import {{to}} (layer {{toLayer}}): {{fromLayer}} may import only {{allowed}}. Layers import downward; see the layer table in eslint.config.js",
      unplaced: "{{from}} belongs to no layer: add its folder to the layer table in eslint.config.js",
    },
  },
  create(context) {
    const classify = compile(context.options[0].layers);
    const from = relative(REPO_ROOT, context.filename).split(sep).join("/");
    if (!from.startsWith("src/")) return {};
    const fromLayer = classify(from);
    if (fromLayer === null) {
      return { Program: (node) => context.report({ node, messageId: "unplaced", data: { from } }) };
    }
    const check = (node, source) => {
      if (source === null || source === undefined || source.type !== "Literal" || typeof source.value !== "string") return;
      const to = resolveSpecifier(from, source.value);
      // Files outside src/ (package.json, say) belong to no layer of the program.
      if (to === null || !to.startsWith("src/")) return;
      const toLayer = classify(to);
      if (toLayer === null) {
        context.report({ node: source, messageId: "unplaced", data: { from: to } });
        return;
      }
      if (fromLayer.mayImport.has(toLayer.name)) return;
      context.report({
        node: source,
        messageId: "upward",
        data: { from, fromLayer: fromLayer.name, to, toLayer: toLayer.name, allowed: [...fromLayer.mayImport].join(", ") },
      });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
    };
  },
};

/** The plugin object for eslint.config.js. */
export const phalanxPlugin = { rules: { layers: layersRule } };
