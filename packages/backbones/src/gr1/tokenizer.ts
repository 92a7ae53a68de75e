/**
 * Instruction tokenizers. The byte tokenizer needs no vocabulary file: UTF-8 bytes 0–255, then PAD = 256,
 * BOS = 257, EOS = 258. EOS is the largest id, so the text encoder can pool at argmax(ids) exactly as CLIP
 * pools at its end-of-text token.
 */
import * as tf from '@tensorflow/tfjs';

export interface Tokenizer {
  readonly vocabSize: number;
  readonly contextLength: number;
  /** ids of one text, padded (or truncated, keeping BOS and EOS) to contextLength. */
  encode(text: string): Int32Array;
}

export const BYTE_PAD = 256;
export const BYTE_BOS = 257;
export const BYTE_EOS = 258;

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 259;
  private readonly encoder = new TextEncoder();

  constructor(readonly contextLength: number) {
    if (!Number.isInteger(contextLength) || contextLength < 3) {
      throw new Error(`ByteTokenizer: contextLength must be an integer ≥ 3, got ${contextLength}`);
    }
  }

  encode(text: string): Int32Array {
    const bytes = this.encoder.encode(text.normalize('NFC'));
    const ids = new Int32Array(this.contextLength).fill(BYTE_PAD);
    const n = Math.min(bytes.length, this.contextLength - 2);
    ids[0] = BYTE_BOS;
    for (let i = 0; i < n; i++) ids[1 + i] = bytes[i];
    ids[1 + n] = BYTE_EOS;
    return ids;
  }
}

/** [texts.length, contextLength] int32 */
export function tokenizeBatch(tokenizer: Tokenizer, texts: readonly string[]): tf.Tensor2D {
  const t = tokenizer.contextLength;
  const ids = new Int32Array(texts.length * t);
  texts.forEach((text, i) => {
    ids.set(tokenizer.encode(text), i * t);
  });
  return tf.tensor2d(ids, [texts.length, t], 'int32');
}
