/**
 * TCP store (what PyTorch's TCPStore does for torchrun): rank 0 serves a key-value map on
 * MASTER_ADDR:MASTER_PORT and every rank, rank 0 included, is a client. Wire format: one JSON object
 * per line; values travel base64-encoded. A client says `hello` with its rank; when that connection
 * closes without `bye` the server records `gone/<rank>`, which is how the others learn a rank died.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { type Store, timeoutError } from './store.js';

interface Request {
  id: number;
  op: 'set' | 'get' | 'wait' | 'add' | 'multiGet' | 'hello' | 'bye';
  key?: string;
  keys?: string[];
  value?: string;
  delta?: number;
  timeoutMs?: number;
  rank?: number;
}

interface Response {
  id: number;
  error?: string;
  value?: string;
  values?: Array<string | null>;
  num?: number;
}

/** The server's key of a rank whose connection closed without saying bye. */
export const goneKey = (rank: number) => `gone/${rank}`;

function lines(socket: Socket, onLine: (line: string) => void): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
  });
}

export class TcpStoreServer {
  private readonly data = new Map<string, Buffer>();
  private waiters: Array<{ keys: string[]; resolve: () => void }> = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  /** Listens on `port` (0 = any free port) on every interface, or on `host` when given. */
  static async listen(port: number, host?: string): Promise<TcpStoreServer> {
    const server = createServer();
    const store = new TcpStoreServer(server);
    server.on('connection', (s) => store.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return store;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private has(keys: readonly string[]) {
    return keys.every((k) => this.data.has(k));
  }

  private put(key: string, value: Buffer) {
    this.data.set(key, value);
    const ready = this.waiters.filter((w) => this.has(w.keys));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  private until(keys: string[], timeoutMs: number): Promise<boolean> {
    if (this.has(keys)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        keys,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  private accept(socket: Socket) {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let rank: number | undefined;
    let said = false;
    const reply = (r: Response) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
    };
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (rank !== undefined && !said) this.put(goneKey(rank), Buffer.from(String(Date.now())));
    });
    lines(socket, async (line) => {
      let req: Request;
      try {
        req = JSON.parse(line) as Request;
      } catch {
        socket.destroy();
        return;
      }
      const timeoutMs = req.timeoutMs ?? 30_000;
      switch (req.op) {
        case 'hello':
          rank = req.rank;
          return reply({ id: req.id });
        case 'bye':
          said = true;
          return reply({ id: req.id });
        case 'set':
          this.put(req.key ?? '', Buffer.from(req.value ?? '', 'base64'));
          return reply({ id: req.id });
        case 'get': {
          const key = req.key ?? '';
          if (!(await this.until([key], timeoutMs)))
            return reply({ id: req.id, error: timeoutError(`get '${key}'`, timeoutMs).message });
          return reply({ id: req.id, value: this.data.get(key)?.toString('base64') });
        }
        case 'wait': {
          const keys = req.keys ?? [];
          if (!(await this.until(keys, timeoutMs)))
            return reply({ id: req.id, error: timeoutError(`wait [${keys.join(', ')}]`, timeoutMs).message });
          return reply({ id: req.id });
        }
        case 'add': {
          const key = req.key ?? '';
          const cur = this.data.get(key);
          const next = (cur ? Number(cur.toString('utf8')) : 0) + (req.delta ?? 0);
          this.put(key, Buffer.from(String(next)));
          return reply({ id: req.id, num: next });
        }
        case 'multiGet':
          return reply({
            id: req.id,
            values: (req.keys ?? []).map((k) => this.data.get(k)?.toString('base64') ?? null),
          });
        default:
          return reply({ id: req.id, error: `unknown op ${JSON.stringify(req.op)}` });
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export class TcpStoreClient implements Store {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: Response) => void; reject: (e: Error) => void }
  >();
  private closedError: Error | undefined;
  /** Called once when the connection to the server is lost (not after close()). */
  onLost: ((err: Error) => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
  ) {
    socket.setNoDelay(true);
    lines(socket, (line) => {
      const r = JSON.parse(line) as Response;
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      p?.resolve(r);
    });
    socket.on('error', (err) => this.lost(new Error(`store ${address}: ${err.message}`)));
    socket.on('close', () => this.lost(new Error(`store ${address}: the connection closed`)));
  }

  /** Connects, retrying until the server is up or `timeoutMs` passes; then says hello as `rank`. */
  static async connect(host: string, port: number, rank: number, timeoutMs: number): Promise<TcpStoreClient> {
    const address = `${host}:${port}`;
    const end = Date.now() + timeoutMs;
    let last: Error | undefined;
    while (Date.now() < end) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = tcpConnect({ host, port }, () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        const client = new TcpStoreClient(socket, address);
        await client.call({ op: 'hello', rank });
        return client;
      } catch (err) {
        last = err as Error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(
      `store ${address}: could not connect within ${timeoutMs} ms (${last?.message ?? 'no attempt'})`,
    );
  }

  private lost(err: Error) {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onLost?.(err);
  }

  get connected(): boolean {
    return this.closedError === undefined;
  }

  private call(req: Omit<Request, 'id'>): Promise<Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<Response>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ ...req, id })}\n`);
    }).then((r) => {
      if (r.error) throw new Error(`store ${this.address}: ${r.error}`);
      return r;
    });
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    await this.call({ op: 'set', key, value: Buffer.from(value).toString('base64') });
  }

  async get(key: string, timeoutMs: number): Promise<Uint8Array> {
    const r = await this.call({ op: 'get', key, timeoutMs });
    return new Uint8Array(Buffer.from(r.value ?? '', 'base64'));
  }

  async wait(keys: readonly string[], timeoutMs: number): Promise<void> {
    await this.call({ op: 'wait', keys: [...keys], timeoutMs });
  }

  async add(key: string, delta: number): Promise<number> {
    return (await this.call({ op: 'add', key, delta })).num ?? 0;
  }

  async multiGet(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    const r = await this.call({ op: 'multiGet', keys: [...keys] });
    return (r.values ?? []).map((v) => (v === null ? undefined : new Uint8Array(Buffer.from(v, 'base64'))));
  }

  /** Says bye (so the server does not report this rank as gone) and disconnects. */
  async close(): Promise<void> {
    if (this.closedError) return;
    try {
      await this.call({ op: 'bye' });
    } catch {
      // already gone
    }
    this.closedError = new Error(`store ${this.address}: closed`);
    this.socket.end();
  }
}
