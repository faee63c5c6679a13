import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type ProxyAction =
  /** Pass it on and return the answer. */
  | 'forward'
  /** Pass it on, let the server act on it, then cut the connection before the client sees the answer. */
  | 'lose-response'
  /** Answer 503 without passing it on. */
  | 'unavailable';

export interface FlakyProxy {
  /** `http://127.0.0.1:PORT`: use instead of the server's endpoint. */
  endpoint: string;
  /** Requests seen, with what was done to each. */
  log: { method: string; url: string; action: ProxyAction }[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on a free 127.0.0.1 port in front of a real test server, that loses answers or
 * fails requests as `decide` says: to test, against the real server, what a client does when a
 * request's outcome is unknown. Headers go through unchanged (request signatures stay valid).
 */
export async function startFlakyProxy(
  upstream: string,
  decide: (req: IncomingMessage) => ProxyAction,
): Promise<FlakyProxy> {
  const target = new URL(upstream);
  const log: FlakyProxy['log'] = [];
  const server: Server = createServer((req, res) => {
    const action = decide(req);
    log.push({ method: req.method ?? '', url: req.url ?? '', action });
    if (action === 'unavailable') {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
        res.end('flaky proxy: unavailable');
      });
      return;
    }
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        if (action === 'lose-response') {
          upRes.resume();
          upRes.on('end', () => req.socket.destroy()); // the server acted; the client never hears
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A `decide` that applies `actions` in turn to the requests `matches` selects, then forwards. */
export function script(
  matches: (req: IncomingMessage) => boolean,
  ...actions: ProxyAction[]
): (req: IncomingMessage) => ProxyAction {
  const queue = [...actions];
  return (req) => (matches(req) ? (queue.shift() ?? 'forward') : 'forward');
}
