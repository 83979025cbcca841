#!/usr/bin/env node
// The `devteam` command: registers tsx's loader in this process (no child process, so signals
// and exit codes are the CLI's own) and runs src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { cli } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
cli(process.argv.slice(2));
