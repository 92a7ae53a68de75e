/** Errors of the process group: which collective failed, and which rank caused it when that is known. */
export type DistributedErrorKind = 'timeout' | 'peer-exited' | 'peer-failed' | 'peer-hung' | 'io' | 'config';

export class DistributedError extends Error {
  constructor(
    message: string,
    readonly kind: DistributedErrorKind,
    /** The rank that exited, failed or hung, when it could be identified. */
    readonly culprit?: number,
  ) {
    super(message);
    this.name = 'DistributedError';
  }
}
