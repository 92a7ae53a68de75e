export { type DistributedAddon, distributedAddon, requireGloo } from './addon.js';
export { type DistEnv, readDistEnv } from './env.js';
export { DistributedError, type DistributedErrorKind } from './errors.js';
export { DEFAULT_BUCKET_BYTES, FusionBuffer, type FusionEntry, type ReduceResult } from './fusion.js';
export { abortKey, heartbeatKey } from './liveness.js';
export { freePort } from './port.js';
export {
  type CollectiveOptions,
  ProcessGroup,
  type ProcessGroupOptions,
  type StoreSpec,
} from './process-group.js';
export { FileStore, type Store } from './store.js';
export { goneKey, TcpStoreClient, TcpStoreServer } from './tcp-store.js';
