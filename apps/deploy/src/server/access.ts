/**
 * Who may talk to the server: an optional API key and an Origin allow-list, checked on every websocket
 * upgrade and every HTTP request except `GET /healthz` (see the threat model in the README).
 *
 * - API key: when set, a request must carry `Authorization: Api-Key <key>` (what openpi's
 *   `WebsocketClientPolicy(api_key=…)` sends) or `Authorization: Bearer <key>`. The comparison is in
 *   constant time (both sides hashed first, so lengths do not leak either).
 * - Origin: browsers attach `Origin` to websocket upgrades and cross-site POSTs; native clients (openpi's
 *   Python client, X-VLA's `requests`) send none. A request with an `Origin` outside `allowOrigins` is
 *   refused, so a web page the operator happens to open cannot drive the robot, even through DNS
 *   rebinding (the Origin is then the attacker's host name). `*` in the list allows every origin.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface AccessConfig {
  apiKey: string | null;
  allowOrigins: string[];
}

export interface AccessDenied {
  status: 401 | 403;
  message: string;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The key a request presents (`Api-Key <key>` or `Bearer <key>`), or null. */
export function presentedKey(authorization: string | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const m = /^(Api-Key|Bearer) (.+)$/.exec(authorization);
  return m ? m[2] : null;
}

/** Normalises an origin for comparison: lower case, no trailing slash. */
const normOrigin = (o: string) => o.trim().toLowerCase().replace(/\/+$/, '');

export function checkAccess(headers: IncomingHttpHeaders, cfg: AccessConfig): AccessDenied | null {
  const origin = headers.origin;
  if (origin !== undefined) {
    const o = normOrigin(origin);
    if (!cfg.allowOrigins.some((a) => a === '*' || normOrigin(a) === o))
      return {
        status: 403,
        message: `origin ${JSON.stringify(origin)} is not allowed (start the server with --allow-origin ${origin} to allow it)`,
      };
  }
  if (cfg.apiKey !== null) {
    const key = presentedKey(headers.authorization);
    if (key === null)
      return {
        status: 401,
        message: 'missing API key: send "Authorization: Api-Key <key>" or "Authorization: Bearer <key>"',
      };
    if (!timingSafeEqual(digest(key), digest(cfg.apiKey))) return { status: 401, message: 'wrong API key' };
  }
  return null;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The warning `serve` prints when it listens beyond this machine without an API key; null otherwise. */
export function exposureWarning(host: string, apiKey: string | null): string | null {
  if (isLoopback(host) || apiKey !== null) return null;
  return (
    `warning: listening on ${host} without an API key: anyone who can reach this port can send ` +
    'observations and receive actions (and so move the robot). Set --api-key or ANCHOR_REFINE_API_KEY, ' +
    'or bind 127.0.0.1 and tunnel (ssh -L).'
  );
}
