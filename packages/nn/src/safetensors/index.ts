export {
  entryValues,
  type FloatStorageDtype,
  type TensorToEntryOptions,
  type ToTensorOptions,
  tensorToEntry,
  toTensor,
  toTensors,
} from './convert.js';
export { type DecodedSafetensors, type DecodeOptions, decodeSafetensors } from './decode.js';
export {
  itemSize,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsMetadata,
} from './dtypes.js';
export { encodeSafetensors, type SafetensorsInput } from './encode.js';
export { SafetensorsError } from './errors.js';
export { loadSafetensors, readSafetensorsHeader, saveSafetensors } from './file.js';
export {
  bf16ArrayToF32,
  bf16ToNumber,
  f16ArrayToF32,
  f16ToNumber,
  f32ArrayToBf16,
  f32ArrayToF16,
  numberToBf16,
  numberToF16,
} from './half.js';
export { type HeaderEntry, MAX_HEADER_DEPTH, type ParsedHeader } from './header.js';
