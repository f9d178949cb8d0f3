/**
 * Serves the dashboard's static files (index.html, app.js, style.css beside this module).
 * Everything is served by Nexus itself: no CDN, works without internet. A strict content
 * security policy allows only same-origin scripts, styles and fetches.
 *
 * The files are read at run time, so `deno compile` must `--include src/dashboard/`.
 *
 * @module
 */

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/assets/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

/** Returns a handler for the dashboard paths; other paths get 404. */
export function dashboardHandler(): (path: string) => Promise<Response> {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  return async (path) => {
    const entry = FILES[path];
    if (!entry) return new Response("not found\n", { status: 404 });
    let body = cache.get(entry.file);
    if (!body) {
      body = await Deno.readFile(new URL(`./${entry.file}`, import.meta.url));
      cache.set(entry.file, body);
    }
    return new Response(body, {
      headers: {
        "content-type": entry.type,
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "cache-control": "no-cache",
      },
    });
  };
}
