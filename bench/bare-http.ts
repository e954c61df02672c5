/**
 * The floor under the ceiling's "accepted" figures: a plain node:http server that answers the
 * ceiling's requests (a JSON body in; an SSE stream out whose first event is `queued`, or with
 * `?wait=queued` a 202 with a JSON body) and does nothing else, no store, no queue, no framework. bench/ceiling.ts drives it with the same client
 * and concurrency as the gateway, so the two rates compare what cligate adds to Node's HTTP on
 * this machine. Bench only.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string };
    if (req.url?.endsWith('?wait=queued')) {
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'queued', conversation_id: 'bare', message_id: 1, events: '/v1/conversations/bare/messages/1/events', text }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // Held open like the gateway's stream, until the client leaves.
    res.write(`event: queued\nid: 1\ndata: ${JSON.stringify({ messageId: 1, position: 1, text })}\n\n`);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.send!({ cmd: 'ready', url: `http://127.0.0.1:${port}` });
});
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stop') process.exit(0);
});
