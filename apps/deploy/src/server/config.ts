/** Server configuration, validated; every error names its field. */

import { DEFAULT_MAX_IMAGE_PIXELS } from './image-limits.js';
import type { ClientMapping } from './mapping.js';

export interface ServerConfig {
  /** Bind address; 127.0.0.1 by default (see the README's threat model before binding 0.0.0.0). */
  host: string;
  port: number;
  /** Largest websocket message / HTTP body accepted (bytes). */
  maxMessageBytes: number;
  /**
   * Largest image accepted (width × height, default 7680×4320), checked from the PNG/JPEG header or the
   * array shape before anything is decoded.
   */
  maxImagePixels: number;
  /** Time a client has to send a request's headers (ms); then 408 and the connection closes. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included (ms); then 408. ≥ headersTimeoutMs. */
  requestTimeoutMs: number;
  /** An idle keep-alive HTTP connection closes after this long (ms). */
  keepAliveTimeoutMs: number;
  /**
   * Websocket heartbeat (ms): the server pings every connection this often and drops one that did not
   * answer the previous ping (a dead or stalled peer). 0 = off. Idle but live clients are kept.
   */
  wsPingIntervalMs: number;
  /** Messages one websocket connection may have waiting before new ones are refused. */
  maxPipelined: number;
  /**
   * openpi closes the connection (code 1011) after sending the error text; we keep it open by default
   * so one bad message does not end a session. true = openpi's behaviour.
   */
  closeOnError: boolean;
  /**
   * API key required on websocket upgrades and `/act` (`Authorization: Api-Key <key>` or
   * `Bearer <key>`); null = no key.
   */
  apiKey: string | null;
  /** Browser origins allowed (`Origin` header); requests without `Origin` are not affected. `*` = any. */
  allowOrigins: string[];
  /** Key-map overrides for each surface (see mapping.ts for defaults). */
  openpi?: Partial<ClientMapping>;
  xvla?: Partial<ClientMapping>;
  /** Extra fields for the metadata frame sent on websocket connect. */
  metadata?: Record<string, unknown>;
}

export const DEFAULT_SERVER_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8000,
  maxMessageBytes: 64 * 1024 * 1024,
  maxPipelined: 8,
  maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  wsPingIntervalMs: 30_000,
  closeOnError: false,
  apiKey: null,
  allowOrigins: [],
};

export function resolveServerConfig(input: Partial<ServerConfig> = {}): ServerConfig {
  const c: ServerConfig = { ...DEFAULT_SERVER_CONFIG, ...input };
  const bad = (f: string, msg: string, v: unknown) =>
    new Error(`server config: ${f} ${msg}, got ${JSON.stringify(v)}`);
  if (typeof c.host !== 'string' || c.host === '') throw bad('host', 'must be a non-empty string', c.host);
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535)
    throw bad('port', 'must be an integer in [0, 65535]', c.port);
  if (!Number.isInteger(c.maxMessageBytes) || c.maxMessageBytes < 1024)
    throw bad('maxMessageBytes', 'must be an integer ≥ 1024', c.maxMessageBytes);
  if (!Number.isInteger(c.maxPipelined) || c.maxPipelined < 1)
    throw bad('maxPipelined', 'must be a positive integer', c.maxPipelined);
  if (!Number.isInteger(c.maxImagePixels) || c.maxImagePixels < 1)
    throw bad('maxImagePixels', 'must be a positive integer (width × height)', c.maxImagePixels);
  for (const f of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs'] as const)
    if (!Number.isInteger(c[f]) || c[f] < 1) throw bad(f, 'must be a positive integer (ms)', c[f]);
  if (c.requestTimeoutMs < c.headersTimeoutMs)
    throw bad('requestTimeoutMs', `must be ≥ headersTimeoutMs (${c.headersTimeoutMs})`, c.requestTimeoutMs);
  if (!Number.isInteger(c.wsPingIntervalMs) || c.wsPingIntervalMs < 0)
    throw bad('wsPingIntervalMs', 'must be a non-negative integer (ms; 0 = off)', c.wsPingIntervalMs);
  if (typeof c.closeOnError !== 'boolean') throw bad('closeOnError', 'must be a boolean', c.closeOnError);
  if (c.apiKey !== null && (typeof c.apiKey !== 'string' || c.apiKey.length === 0 || /[\s]/.test(c.apiKey)))
    throw bad('apiKey', 'must be null or a non-empty string without whitespace', '<hidden>');
  if (!Array.isArray(c.allowOrigins) || c.allowOrigins.some((o) => typeof o !== 'string' || o === ''))
    throw bad('allowOrigins', 'must be an array of origins such as "http://localhost:3000"', c.allowOrigins);
  return c;
}
