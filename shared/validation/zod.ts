/**
 * The zod the functions validate with: `zod/mini`, with its English messages switched on.
 *
 * Why mini: it is the same validator as zod's full build (one core), with functions instead of
 * methods, so a bundle holds only the schema kinds it uses; the full build costs tens of
 * milliseconds at every cold start. Why the locale here: mini ships without messages
 * ("Invalid input" for everything) until one is configured, and the messages reach operators
 * (config errors, rejected files, answers that do not match the reference). Every module that
 * builds a schema imports `z` from here, so the locale is set before any schema parses.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export { z };
