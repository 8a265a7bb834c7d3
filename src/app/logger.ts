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
  const paths = redactedKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
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
