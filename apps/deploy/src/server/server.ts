/**
 * One port, three surfaces:
 * - the openpi websocket protocol (any path): a msgpack metadata frame on connect, then request/response
 *   msgpack-numpy frames; `actions` [H, D] float32 plus `policy_timing` / `server_timing`;
 * - X-VLA's `POST /act` (JSON with json-numpy arrays) → `{"action": [[…], …]}`;
 * - `GET /healthz` → `200 OK`.
 *
 * Timing fields in replies: `policy_timing.infer_ms` is the policy's own `predictActionChunk` call (the
 * model time); `server_timing.infer_ms` the worker round trip (model + queue + thread hand-off) and
 * `server_timing.decode_ms` this thread's message → observation work (parse, validate, resize).
 *
 * The policy runs in a worker thread (`PolicyClient`); this thread only parses, validates and queues, so
 * the event loop never blocks on a model. A malformed message gets an error reply (websocket: a text
 * frame, as openpi's client expects; HTTP: 400 `{"error"}`) and the server keeps serving.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PolicyObservation } from '@anchor-refine/policy';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { InferResult, PolicyClient } from '../policy/policy-client.js';
import { PolicyBusyError, PolicyUnavailableError } from '../policy/policy-client.js';
import { parseActBody } from '../protocol/act-body.js';
import { parseJsonNumpy } from '../protocol/json-numpy.js';
import { packNumpy, unpackNumpy } from '../protocol/msgpack-numpy.js';
import { isNdArray, type NdArray, ndarray, ProtocolError } from '../protocol/ndarray.js';
import { checkAccess } from './access.js';
import { BodyReader, BodyTooLargeError } from './body-reader.js';
import { resolveServerConfig, type ServerConfig } from './config.js';
import {
  chunkToActions,
  openpiDefaults,
  type ResolvedMapping,
  resolveMapping,
  xvlaDefaults,
} from './mapping.js';
import { toObservation } from './observation.js';
import { parseRtcField } from './rtc-request.js';

export interface PolicyServer {
  /** The address the server is bound to (as the OS reports it). */
  readonly host: string;
  readonly port: number;
  readonly config: ServerConfig;
  readonly mappings: { openpi: ResolvedMapping; xvla: ResolvedMapping };
  /** Counters for monitoring and tests. */
  readonly stats: { requests: number; errors: number; connections: number; refused: number };
  close(): Promise<void>;
}

const asNd = (v: unknown, field: string): NdArray => {
  if (!isNdArray(v))
    throw new ProtocolError(field, 'must be a numpy array (msgpack-numpy map with __ndarray__)');
  return v;
};

function errorText(err: unknown): string {
  if (err instanceof ProtocolError) return `bad request: ${err.message}`;
  if (err instanceof PolicyBusyError) return `busy: ${err.message}`;
  if (err instanceof PolicyUnavailableError) return `unavailable: ${err.message}`;
  return `server error: ${(err as Error).message ?? String(err)}`;
}

export async function startServer(
  policy: PolicyClient,
  input: Partial<ServerConfig> = {},
): Promise<PolicyServer> {
  const config = resolveServerConfig(input);
  const info = policy.info;
  const mappings = {
    openpi: resolveMapping(openpiDefaults(info), config.openpi, info, 'openpi'),
    xvla: resolveMapping(xvlaDefaults(info), config.xvla, info, 'xvla'),
  };
  const stats = { requests: 0, errors: 0, connections: 0, refused: 0 };
  /** `/act` bodies up to 8 MiB go into one reused buffer (see body-reader.ts). */
  const bodies = new BodyReader(config.maxMessageBytes, 8 * 1024 * 1024);
  /** `/act` fields read as arrays: their json-numpy strings may take `parseActBody`'s fast path. */
  const actArrayKeys = new Set([...Object.keys(mappings.xvla.images), ...mappings.xvla.state]);
  const metadata = packNumpy({ ...info, server: 'anchor-refine-deploy', ...(config.metadata ?? {}) });

  // noDelay (Node's default, stated here): replies are small and must not wait for Nagle's algorithm.
  // Slow clients: headers within headersTimeoutMs and the whole request within requestTimeoutMs, or
  // Node answers 408 and closes; Node checks those deadlines every connectionsCheckingInterval (its
  // default, 30 s, would let a deadline slip by that much).
  const http = createServer(
    {
      noDelay: true,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(config.headersTimeoutMs / 4))),
    },
    (req, res) => {
      void handleHttp(req, res);
    },
  );
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxMessageBytes,
    perMessageDeflate: false,
  });

  http.on('upgrade', (req, socket, head) => {
    const denied = checkAccess(req.headers, config);
    if (denied) {
      stats.refused++;
      const text = `${denied.message}\n`;
      socket.end(
        `HTTP/1.1 ${denied.status} ${denied.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\n` +
          'Connection: close\r\nContent-Type: text/plain\r\n' +
          `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  // Heartbeat: a connection that did not answer the last ping (dead peer, stalled client) is dropped.
  const answered = new WeakMap<WebSocket, boolean>();
  const heartbeat =
    config.wsPingIntervalMs > 0
      ? setInterval(() => {
          for (const ws of wss.clients) {
            if (answered.get(ws) === false) {
              ws.terminate();
              continue;
            }
            answered.set(ws, false);
            ws.ping();
          }
        }, config.wsPingIntervalMs)
      : null;
  heartbeat?.unref();

  function onConnection(ws: WebSocket): void {
    stats.connections++;
    answered.set(ws, true);
    ws.on('pong', () => answered.set(ws, true));
    const history: PolicyObservation[] = [];
    let lastTask: string | null = null;
    let prevTotalMs = 0;
    let waiting = 0;
    let chain: Promise<void> = Promise.resolve();
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      stats.connections--;
    });
    ws.send(metadata);

    const fail = (err: unknown) => {
      stats.errors++;
      if (ws.readyState !== ws.OPEN) return;
      ws.send(errorText(err));
      if (config.closeOnError) ws.close(1011, 'error');
    };

    const handle = async (data: RawData, isBinary: boolean, t0: number) => {
      stats.requests++;
      const tDecode = performance.now();
      try {
        if (!isBinary)
          throw new ProtocolError('frame', 'send observations as binary msgpack frames, not text');
        const bytes = Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.isBuffer(data)
            ? data
            : Buffer.from(data);
        // Images come back as views on `bytes` (no copy); toObservation resizes them into fresh buffers.
        const msg = unpackNumpy(bytes, { view: true });
        if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || isNdArray(msg))
          throw new ProtocolError('message', 'must be a msgpack map of observation fields');
        const obs = toObservation(msg as Record<string, unknown>, mappings.openpi, info, asNd, config);
        // Per-connection history (the policy conditions on `history` frames); a new prompt starts afresh.
        if (obs.task !== lastTask) history.length = 0;
        lastTask = obs.task;
        history.push(obs);
        if (history.length > info.history) history.shift();
        const decodeMs = performance.now() - tDecode;
        const guide = parseRtcField(msg as Record<string, unknown>, mappings.openpi, info, asNd);
        const r: InferResult = await policy.infer([...history], guide);
        const actions = chunkToActions(mappings.openpi, r.chunk);
        const reply = packNumpy({
          actions: ndarray(actions, [r.chunk.horizon, r.chunk.armDim + 1]),
          policy_timing: { infer_ms: r.inferMs },
          server_timing: { infer_ms: r.totalMs, prev_total_ms: prevTotalMs, decode_ms: decodeMs },
        });
        if (ws.readyState === ws.OPEN) ws.send(reply);
        prevTotalMs = performance.now() - t0;
      } catch (err) {
        fail(err);
      }
    };

    ws.on('message', (data, isBinary) => {
      const t0 = performance.now();
      if (waiting >= config.maxPipelined) {
        stats.requests++;
        fail(
          new ProtocolError(
            'connection',
            `more than ${config.maxPipelined} requests in flight; wait for replies`,
          ),
        );
        return;
      }
      waiting++;
      // Strict request/response order per connection, as openpi's client expects.
      chain = chain
        .then(() => handle(data, isBinary, t0))
        .finally(() => {
          waiting--;
        });
    });
  }

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /**
   * 413 for a body over the limit, sent while the rest of the body is still unread. The connection is
   * not closed at once: closing a socket with unread data makes the kernel send a reset, which can throw
   * away the 413 before the client reads it. The rest of the body is read and dropped, and the socket is
   * destroyed after a grace period (or earlier by requestTimeoutMs).
   */
  function refuseBody(req: IncomingMessage, res: ServerResponse, err: BodyTooLargeError): void {
    const socket = req.socket;
    req.resume(); // discard the rest (nothing is kept)
    if (!res.headersSent && !res.destroyed) sendJson(res, 413, { error: errorText(err) });
    const timer = setTimeout(() => socket.destroy(), Math.min(5000, config.requestTimeoutMs));
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      // 200 "OK" (as openpi) while the policy worker is up; 503 with the reason while it restarts or
      // after it gave up.
      const h = policy.health();
      if (h.state === 'up') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK\n');
      } else {
        const text =
          `${h.state === 'restarting' ? 'RESTARTING' : 'DOWN'}: policy worker ${h.state} ` +
          `(${h.consecutiveFailures} deaths in a row, ${h.restarts} restarts so far)` +
          `${h.lastError ? `: ${h.lastError}` : ''}\n`;
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
        res.end(text);
      }
      return;
    }
    const denied = checkAccess(req.headers, config);
    if (denied) {
      stats.refused++;
      if (denied.status === 401) res.setHeader('www-authenticate', 'Bearer');
      sendJson(res, denied.status, { error: denied.message });
      return;
    }
    if (path !== '/act') {
      sendJson(res, 404, {
        error: `no route ${req.method} ${path}; use POST /act, GET /healthz or a websocket`,
      });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: '/act accepts POST only' });
      return;
    }
    stats.requests++;
    let release = () => {};
    try {
      const read = await bodies.read(req);
      release = read.release;
      const body = read.bytes;
      const tDecode = performance.now();
      let msg: unknown = parseActBody(body, actArrayKeys);
      if (msg === null) {
        try {
          msg = JSON.parse(body.toString('utf8'));
        } catch {
          throw new ProtocolError('body', 'is not valid JSON');
        }
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
        throw new ProtocolError('body', 'must be a JSON object');
      const obs = toObservation(msg as Record<string, unknown>, mappings.xvla, info, parseJsonNumpy, config);
      release(); // nothing in `obs` points into the body
      // /act is stateless: the policy sees this one frame (its history is padded by the policy).
      const decodeMs = performance.now() - tDecode;
      const guide = parseRtcField(msg as Record<string, unknown>, mappings.xvla, info, parseJsonNumpy);
      const r = await policy.infer([obs], guide);
      const flat = chunkToActions(mappings.xvla, r.chunk);
      const d = r.chunk.armDim + 1;
      const action: number[][] = [];
      for (let t = 0; t < r.chunk.horizon; t++) action.push(Array.from(flat.subarray(t * d, (t + 1) * d)));
      sendJson(res, 200, {
        action,
        policy_timing: { infer_ms: r.inferMs },
        server_timing: { infer_ms: r.totalMs, decode_ms: decodeMs },
      });
    } catch (err) {
      stats.errors++;
      if (err instanceof BodyTooLargeError) {
        refuseBody(req, res, err);
        return;
      }
      const status =
        err instanceof ProtocolError
          ? 400
          : err instanceof PolicyBusyError || err instanceof PolicyUnavailableError
            ? 503
            : 500;
      if (!res.headersSent && !res.destroyed) sendJson(res, status, { error: errorText(err) });
    } finally {
      release();
    }
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const { port, address: host } = http.address() as AddressInfo;

  return {
    host,
    port,
    config,
    mappings,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        if (heartbeat) clearInterval(heartbeat);
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
