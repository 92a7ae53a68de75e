// A policy module as an outside package would write it: imports only the public API.
import {
  type ClosedLoopPolicy,
  createExpertPolicy,
  type JsonValue,
  type PolicyContext,
} from '../../index.js';

/** Expert-backed policy whose factory is async (like a policy that loads weights). */
export async function makePolicy(options: JsonValue, ctx: PolicyContext): Promise<ClosedLoopPolicy> {
  await new Promise((r) => setTimeout(r, 1));
  const inner = createExpertPolicy(options, ctx);
  return {
    async reset() {
      await inner.reset();
    },
    async act(obs) {
      return inner.act(obs);
    },
  };
}
