import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Reporter identity, contact, secrets and narrative text never reach a log line (DESIGN.md
 * invariant 4). Redaction is by key at any depth we log; code must still not log these values.
 */
export const redactedKeys = [
  'reporter',
  'name',
  'phone',
  'email',
  'contact',
  'secret',
  'pin',
  'password',
  'token',
  'narrative',
  'body',
  'text',
  'authorization',
  'cookie',
  'From',
  'Caller',
  'x-report-secret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  // An error's own text may quote what it failed on (a mail server's "550 5.1.1 <address>"): code
  // reduces provider errors to codes before logging, and an error object's message and stack are
  // redacted here too, as a second line (its `type` and `code` stay).
  const paths = [...redactedKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), 'err.message', 'err.stack', '*.err.message', '*.err.stack'];
  return pino(
    {
      level,
      base: { service: 'dibao-hotline' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
