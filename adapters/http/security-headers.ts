/**
 * Headers on every response of the HTTP adapter. The web chat holds an API key: a hostile page must not
 * load it in a frame and trick clicks on it (clickjacking), and the browser must run nothing the app did
 * not ship itself, a second wall behind the escaping of chat text. The JSON API gets the same set, which
 * costs nothing there and keeps a browser from sniffing an answer into something executable.
 */
import type { MiddlewareHandler } from 'hono';

/**
 * The policy of the web chat: its own script, stylesheet and connections (the API, the event stream, a
 * same-host WebSocket, which 'self' covers), images only from itself, embedded in an answer (`data:`) or
 * fetched from a workspace with the key by the app itself (`blob:`, the Files panel),
 * no inline script (inline styles only, which xterm.js needs), no plugins, no <base>, and framing only by `frameAncestors` (none by default).
 */
export function contentSecurityPolicy(frameAncestors: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // xterm.js (the Terminal panel) writes its colours and cell sizes into <style> elements it makes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    `frame-ancestors ${frameAncestors.length ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

export function securityHeaders(frameAncestors: readonly string[]): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(frameAncestors),
    // For browsers without frame-ancestors. It cannot name several origins, so it goes once framing is opened.
    ...(frameAncestors.length ? {} : { 'x-frame-options': 'DENY' }),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

/** Sets the headers on whatever the routes answered: pages, assets, JSON, event streams, errors. */
export function secureHeaders(frameAncestors: readonly string[]): MiddlewareHandler {
  const headers = Object.entries(securityHeaders(frameAncestors));
  return async (c, next) => {
    await next();
    for (const [name, value] of headers) c.res.headers.set(name, value);
  };
}
