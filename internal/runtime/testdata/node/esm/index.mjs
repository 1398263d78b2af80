// ES module handler (import/export syntax).
import { basename } from 'node:path';

export const handler = async (event, context) => ({ esm: true, file: basename(import.meta.url), fn: context.functionName });
