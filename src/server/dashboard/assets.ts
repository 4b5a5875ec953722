// The dashboard's static files: hand-written HTML, CSS and ES modules in ./static/, served as they
// are (no build step, nothing from outside). They are found from the package root, which is three
// levels up both from src/server/dashboard/ (tsx) and from dist/server/dashboard/ (the built CLI),
// so the files ship in src/ beside dist/ and the build does not copy them.
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";

/** The files of ./static/ served (a test checks the folder holds exactly these). */
export const DASHBOARD_FILES: readonly string[] = ["index.html", "style.css", "app.js", "render.js", "stream.js", "actions.js", "logs.js", "favicon.svg"];
/** Where the static files are. */
export const DASHBOARD_STATIC_DIR = fileURLToPath(new URL("../../../src/server/dashboard/static/", import.meta.url));
/** The page's address; its files are under it. */
export const DASHBOARD_PATH = "/dashboard";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * Same origin only, no inline script or style, no framing: the page holds the admin token, so
 * nothing else may run in it or wrap it.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The static files by request path ("/dashboard" is index.html), read once on first use. */
export class DashboardAssets {
  private loaded: Promise<Map<string, Asset>> | null = null;

  constructor(private readonly dir: string = DASHBOARD_STATIC_DIR) {}

  /** Request paths served: "/dashboard" and "/dashboard/" (index.html) and "/dashboard/<file>". */
  static paths(): string[] {
    return [DASHBOARD_PATH, ...DASHBOARD_FILES.map((f) => `${DASHBOARD_PATH}/${f}`), `${DASHBOARD_PATH}/`];
  }

  /** Answers one GET for `path` (a key of paths()). */
  async serve(path: string, res: ServerResponse, _req?: IncomingMessage): Promise<void> {
    const asset = (await this.load()).get(path);
    if (asset === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end(`No dashboard file ${path}`);
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.contentType, "content-length": String(asset.body.length) });
    res.end(asset.body);
  }

  private load(): Promise<Map<string, Asset>> {
    this.loaded ??= (async () => {
      const out = new Map<string, Asset>();
      for (const name of DASHBOARD_FILES) {
        let body: Buffer;
        try {
          body = await readFile(join(this.dir, name));
        } catch (err) {
          this.loaded = null;
          throw new Error(`Cannot read the dashboard's file ${join(this.dir, name)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the package's src/server/dashboard/static/ must ship beside dist/`, { cause: err });
        }
        const asset = { body, contentType: CONTENT_TYPES[extname(name)] ?? "application/octet-stream" };
        out.set(`${DASHBOARD_PATH}/${name}`, asset);
        if (name === "index.html") {
          out.set(DASHBOARD_PATH, asset);
          out.set(`${DASHBOARD_PATH}/`, asset);
        }
      }
      return out;
    })();
    return this.loaded;
  }
}
