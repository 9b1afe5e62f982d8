#!/usr/bin/env node
// Launcher of the operator CLI: registers tsx so that the TypeScript sources run without a
// build step (`npx ibinder-pipeline --help` from the repository), then hands over to cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
