/** Little-endian byte buffers ↔ typed arrays, independent of the host's byte order. */

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1 || HOST_IS_LITTLE_ENDIAN) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** A fresh, aligned ArrayBuffer holding `bytes` converted from little-endian to host order. */
export function fromLittleEndian(bytes: Uint8Array, itemSize: number): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  swapInPlace(copy, itemSize);
  return copy.buffer;
}

/** Little-endian bytes (a copy) of a typed array's elements. */
export function toLittleEndian(values: ArrayBufferView, itemSize: number): Uint8Array {
  const copy = new Uint8Array(values.byteLength);
  copy.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  swapInPlace(copy, itemSize);
  return copy;
}
