/** A byte pipe to a servo bus: a serial port, a pty, or an in-memory simulated bus. */

export interface ByteTransport {
  write(bytes: Uint8Array): Promise<void>;
  /** Registers the receiver of incoming bytes (one receiver). */
  onData(listener: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

/** Opens a real serial port through `serialport` (imported lazily: the native binding is only needed here). */
export async function openSerialTransport(path: string, baudRate = 1_000_000): Promise<ByteTransport> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let listener: ((b: Uint8Array) => void) | null = null;
  port.on('data', (d: Buffer) => listener?.(d));
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => {
        port.write(Buffer.from(bytes), (err) => {
          if (err) reject(err);
          else port.drain((e) => (e ? reject(e) : resolve()));
        });
      }),
    onData: (l) => {
      listener = l;
    },
    close: () => new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}
