/**
 * The zod the functions validate with: `zod/mini`, with its English messages switched on.
 * Import it as a namespace: `import * as z from '../validation/zod.js'`.
 *
 * Why mini: it is the same validator as zod's full build (one core), with functions instead of
 * methods, so a bundle holds only the schema kinds it uses; the full build costs tens of
 * milliseconds at every cold start. Why a namespace import and `export *` (not an exported
 * `z` object): esbuild drops what is never referenced only when every use is a static
 * `z.name`; a namespace passed around as a value keeps all of zod, every locale included.
 * Why the locale here: mini ships without messages ("Invalid input" for everything) until one
 * is configured, and the messages reach operators (config errors, rejected files, answers that
 * do not match the reference). Every module that builds a schema imports this module, so the
 * locale is set before any schema parses. Schemas declared at a module's top level are wrapped
 * in `lazySchema` (lazy-schema.ts), so that importing a module builds none.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// The messages' tables are built when the first message is needed, not at import (cold start).
let english: ReturnType<typeof en> | undefined;
config({ localeError: (issue) => (english ??= en()).localeError(issue) });

export * from 'zod/mini';
