/**
 * The gateway's one HTTP server: the API and web chat (adapters/http), and webhook endpoints of
 * other adapters (Telegram, Slack in HTTP mode), each mounted under its own path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Pacer } from './pacer.js';

export type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
/** Takes over a connection asking to upgrade (a WebSocket), or ends it. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export class HttpServer {
  private readonly mounts: { path: string; handler: NodeHandler }[] = [];
  private readonly upgrades: { path: string; handler: UpgradeHandler }[] = [];
  private server?: http.Server;
  /** A burst of requests is handled over several turns of the event loop (see Pacer). */
  private readonly pacer = new Pacer();

  /** Handles requests whose path is `path` or below it; the longest mount wins. */
  mount(path: string, handler: NodeHandler): void {
    this.mounts.push({ path: path.replace(/\/$/, ''), handler });
    this.mounts.sort((a, b) => b.path.length - a.path.length);
  }

  /** Handles upgrade requests (WebSockets) whose path is `path` or below it; others are refused (404). */
  mountUpgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.push({ path: path.replace(/\/$/, ''), handler });
    this.upgrades.sort((a, b) => b.path.length - a.path.length);
  }

  get hasMounts(): boolean {
    return this.mounts.length > 0;
  }

  async listen(host: string, port: number): Promise<string> {
    this.server = http.createServer((req, res) => void this.pacer.run(() => this.route(req, res)));
    // Longer than a load balancer's idle timeout (60 s on the common ones) and than clients' own, so an
    // idle connection is always closed by the other side first: never by us just as a request is sent
    // on it, which the client would see as a reset connection.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeIdleConnections();
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    // Streams (SSE) would hold the server open: end them after a moment.
    const timer = setTimeout(() => this.server?.closeAllConnections(), 1000);
    await closed;
    clearTimeout(timer);
  }

  /** Told about a handler that threw (the request gets a 500 either way). */
  onError?: (err: unknown, path: string) => void;

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const mount = this.upgrades.find((m) => path === m.path || path.startsWith(m.path + '/'));
    try {
      if (mount) return mount.handler(req, socket, head);
    } catch (err) {
      this.onError?.(err, path);
    }
    socket.end(`HTTP/1.1 ${mount ? '500 Internal Server Error' : '404 Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const mount = this.mounts.find((m) => m.path === '' || path === m.path || path.startsWith(m.path + '/'));
    if (!mount) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    try {
      mount.handler(req, res);
    } catch (err) {
      this.onError?.(err, path);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'internal error' } }));
    }
  }
}
