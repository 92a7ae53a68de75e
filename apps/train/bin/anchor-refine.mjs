#!/usr/bin/env node
// `anchor-refine`: runs src/cli.ts from source (see tools/ts-cli.mjs).
import { runTsCli } from '../../../tools/ts-cli.mjs';

runTsCli(new URL('../src/cli.ts', import.meta.url));
