/** Errors raised by the safetensors reader/writer; messages name the file (source) and the tensor. */

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  /** File path or caller-given label of the bytes. */
  readonly source: string;
  /** Tensor (or metadata key) the problem is about, when there is one. */
  readonly tensor: string | undefined;

  constructor(source: string, tensor: string | undefined, detail: string) {
    super(`safetensors ${source}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${detail}`);
    this.source = source;
    this.tensor = tensor;
  }
}
