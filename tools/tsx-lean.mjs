/**
 * `node --import <this file>` in place of `--import tsx`: the same TypeScript loader, ~57 MB less memory.
 *
 * tsx turns on Node's source-map support, and from then on Node reads and parses the `.map` file of every
 * module it compiles, tfjs's prebuilt bundles included (15 MB of maps: ~44 MB of RSS for the parsed maps,
 * more for tsx's own handling of the files). On the main thread this imports tfjs first, while source maps
 * are still off, then tsx: the project's TypeScript keeps tsx's source-mapped stack traces, tfjs's frames
 * point into its bundles. Worker threads inherit this flag; they skip the early import, so a worker that
 * never touches tfjs (the dataset loader) does not load it.
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) await import('@tensorflow/tfjs');
await import('tsx');
