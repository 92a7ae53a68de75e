/**
 * The README's demo: the whole AnchorRefine method end to end on the built-in simulator (apps/train's
 * `demo`): collect expert demos, train phase 1 and phase 2 with the `small` GR-1 config, evaluate
 * anchor-only vs AnchorRefine on held-out seeds of all four tasks, print the table, write the report.
 *
 *   bash tools/bootstrap.sh demo [--quick] [--json]      (fresh machine)
 *   node --conditions=@anchor-refine/source --import tsx tools/demo.ts [--quick] [--json] [--out DIR]
 */
process.argv.splice(2, 0, 'demo');
await import('../apps/train/src/cli.ts');
