import { z } from 'zod';

/**
 * A file as standard base64 (RFC 4648, padded), decoded once here. Node's decoder skips characters
 * outside the alphabet instead of failing, so strictness comes from the length: any skipped
 * character makes the decoded size differ from what the text's length promises. (zod's
 * `z.base64()` ran a regex and a JavaScript `atob` over the whole string only to check it, and the
 * route then decoded it a second time: most of a 1 MB upload's CPU.)
 */
export const base64File = z
  .string()
  .describe('base64')
  .transform((text, ctx) => {
    const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    const bytes = text.length % 4 === 0 ? Buffer.from(text, 'base64') : null;
    if (!bytes || bytes.length !== (text.length / 4) * 3 - padding) {
      ctx.addIssue({ code: 'custom', message: 'not valid base64' });
      return z.NEVER;
    }
    // Small results share Node's buffer pool; callers get bytes of their own.
    return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
  });
