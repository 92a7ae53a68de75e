/**
 * The run folder's layout has one home: no module of this app imports one that imports it back (type
 * imports included), so e.g. ablate and report both read RUN_FILES / AblationResult from run-layout.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { RUN_FILES } from './run-layout.js';

const src = dirname(fileURLToPath(import.meta.url));

/** module → the app modules it imports (relative specifiers, `.js` → `.ts`). */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(join(src, f), 'utf8'), true, false);
    const deps = info.importedFiles
      .map((i) => i.fileName)
      .filter((s) => s.startsWith('./'))
      .map((s) => resolve(src, s.replace(/\.js$/, '.ts')).slice(src.length + 1));
    graph.set(f, deps);
  }
  return graph;
}

/** Every import cycle as a path a → … → a (each reported once, from its smallest name). */
function cycles(graph: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const walk = (start: string, node: string, path: string[]) => {
    for (const next of graph.get(node) ?? []) {
      if (next === start) found.add([...path, start].join(' → '));
      else if (!path.includes(next) && next > start) walk(start, next, [...path, next]);
    }
  };
  for (const f of graph.keys()) walk(f, f, [f]);
  return [...found];
}

describe('run folder layout', () => {
  it('no import cycles among the app modules; ablate and report share run-layout.ts', () => {
    const g = importGraph();
    expect(cycles(g)).toEqual([]);
    expect(g.get('ablate.ts')).toContain('run-layout.ts');
    expect(g.get('report.ts')).toContain('run-layout.ts');
    expect(RUN_FILES.ablation).toBe('ablation.json');
  });
});
