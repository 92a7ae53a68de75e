/**
 * Reads HTTP request bodies for `/act`. A body with a `content-length` of at most `reuseLimit` bytes is
 * written into one buffer that the server keeps and reuses, rather than into 64 KB parts and a fresh
 * `Buffer.concat`. A CALVIN body is ≈800 KB, and V8 counts every such buffer as external memory, so at
 * 30 requests/s the per-request buffer alone triggered an external-memory Mark-Compact of the server
 * thread about every 2 s.
 *
 * One body at a time holds the shared buffer. Others (concurrent requests, no `content-length`, larger
 * bodies) get a buffer of their own, as before. The caller must `release()` the body once it no longer
 * reads it: the server does so right after building the observation, whose arrays never point into the
 * body (json-numpy payloads are decoded into buffers of their own).
 */

import type { IncomingMessage } from 'node:http';
import { ProtocolError } from '../protocol/ndarray.js';

export interface Body {
  bytes: Buffer;
  /** Hands the shared buffer back; idempotent. */
  release(): void;
}

const NOOP = () => {};

/** A body over the limit (HTTP 413). Reading stops at the limit; nothing more is kept. */
export class BodyTooLargeError extends ProtocolError {
  constructor(limit: number, declared?: number) {
    super(
      'body',
      declared === undefined
        ? `larger than ${limit} bytes (maxMessageBytes)`
        : `content-length ${declared} is larger than ${limit} bytes (maxMessageBytes)`,
    );
    this.name = 'BodyTooLargeError';
  }
}

export class BodyReader {
  private shared = Buffer.alloc(0);
  private sharedBusy = false;

  /**
   * @param maxBytes larger bodies are refused (`ProtocolError` on `body`)
   * @param reuseLimit largest body read into the shared buffer (which grows up to this size)
   */
  constructor(
    private readonly maxBytes: number,
    private readonly reuseLimit: number,
  ) {}

  /**
   * Reads the body. A `content-length` over `maxBytes` is refused at once, before any of the body is
   * read; a body without one is refused as soon as it passes `maxBytes`. Either way the rest of the body
   * is left unread (the caller answers 413 and closes the connection).
   */
  read(req: IncomingMessage): Promise<Body> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes)
      return Promise.reject(new BodyTooLargeError(this.maxBytes, declared));
    const reuse =
      !this.sharedBusy &&
      Number.isSafeInteger(declared) &&
      declared > 0 &&
      declared <= Math.min(this.reuseLimit, this.maxBytes);
    let into: Buffer | null = null;
    let release = NOOP;
    if (reuse) {
      if (this.shared.length < declared)
        this.shared = Buffer.allocUnsafe(
          Math.min(this.reuseLimit, Math.max(declared, this.shared.length * 2)),
        );
      this.sharedBusy = true;
      into = this.shared;
      let released = false;
      release = () => {
        if (released) return;
        released = true;
        this.sharedBusy = false;
      };
    }
    return new Promise<Body>((resolve, reject) => {
      const fail = (err: Error) => {
        release();
        reject(err);
      };
      const parts: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer) => {
        if (size + c.length > this.maxBytes) {
          req.off('data', onData);
          req.pause();
          parts.length = 0;
          fail(new BodyTooLargeError(this.maxBytes));
          return;
        }
        if (into) {
          // Node's HTTP parser delivers exactly content-length bytes; more would be a parser bug.
          if (size + c.length > declared) {
            fail(new ProtocolError('body', `longer than its content-length (${declared})`));
            req.destroy();
            return;
          }
          c.copy(into, size);
        } else parts.push(c);
        size += c.length;
      };
      req.on('data', onData);
      let ended = false;
      req.on('end', () => {
        ended = true;
        resolve({ bytes: into ? into.subarray(0, size) : Buffer.concat(parts), release });
      });
      req.on('error', fail);
      // An aborted request may end with 'close' alone; the shared buffer must not stay taken.
      req.on('close', () => {
        if (!ended) fail(new ProtocolError('body', 'the request closed before its body was complete'));
      });
    });
  }
}
