/**
 * Every problem with a dataset on disk is reported as a `DatasetError` naming the file and the field, so a
 * user can open the file and fix it. Nothing is skipped silently.
 */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  constructor(
    /** path of the offending file (absolute or relative to the dataset root), or the dataset root */
    readonly file: string,
    /** the field, column or key that is wrong (e.g. `features.action.shape`, `episode_index`) */
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
  }
}

/** Bad configuration passed by code (sampler, writer options): names the option and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
