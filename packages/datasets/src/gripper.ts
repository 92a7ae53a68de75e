import { ConfigError } from './errors.js';

/**
 * Sign conventions of the raw gripper channel:
 * - `closed-positive`: larger = more closed (LIBERO actions: −1 open, +1 close).
 * - `open-positive`: larger = more open (CALVIN: −1 close, +1 open; SO-101 `gripper.pos`: 0 closed, 100 open).
 * - `zero-one`: 0 open, 1 closed (simulators that record the binary command).
 */
export type GripperConvention = 'closed-positive' | 'open-positive' | 'zero-one';

export interface GripperMappingConfig {
  convention: GripperConvention;
  /** decision threshold on the raw value; default: midpoint of `values` */
  threshold?: number;
  /** raw values written back for open/closed; defaults per convention (±1, or 0/1 for zero-one) */
  values?: { open: number; closed: number };
}

const DEFAULT_VALUES: Record<GripperConvention, { open: number; closed: number }> = {
  'closed-positive': { open: -1, closed: 1 },
  'open-positive': { open: 1, closed: -1 },
  'zero-one': { open: 0, closed: 1 },
};

/** Maps a dataset's gripper channel to {0 = open, 1 = closed} and back. */
export class GripperMapping {
  readonly convention: GripperConvention;
  readonly threshold: number;
  readonly values: { open: number; closed: number };

  constructor(cfg: GripperMappingConfig, field = 'gripper') {
    if (!(cfg.convention in DEFAULT_VALUES)) {
      throw new ConfigError(
        `${field}.convention`,
        `is ${JSON.stringify(cfg.convention)}; use 'closed-positive' (LIBERO), 'open-positive' (CALVIN, SO-101) or 'zero-one'`,
      );
    }
    this.convention = cfg.convention;
    this.values = cfg.values ?? DEFAULT_VALUES[cfg.convention];
    if (!Number.isFinite(this.values.open) || !Number.isFinite(this.values.closed)) {
      throw new ConfigError(`${field}.values`, 'open and closed must be finite numbers');
    }
    const closedAbove = cfg.convention !== 'open-positive';
    if (closedAbove !== this.values.closed > this.values.open) {
      throw new ConfigError(
        `${field}.values`,
        `closed=${this.values.closed}, open=${this.values.open} contradict convention '${cfg.convention}'`,
      );
    }
    this.threshold = cfg.threshold ?? (this.values.open + this.values.closed) / 2;
    if (!Number.isFinite(this.threshold))
      throw new ConfigError(`${field}.threshold`, 'must be a finite number');
  }

  /** Raw value → 1 (closed) or 0 (open). A value exactly at the threshold counts as open. */
  toBinary(raw: number): 0 | 1 {
    if (this.convention === 'open-positive') return raw < this.threshold ? 1 : 0;
    return raw > this.threshold ? 1 : 0;
  }

  /** {0,1} (or a closing probability, split at 0.5) → the dataset's raw open/closed value. */
  fromBinary(closed: number): number {
    return closed >= 0.5 ? this.values.closed : this.values.open;
  }
}
