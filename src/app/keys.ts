import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Keys {
  /** AES-256-GCM key for sealed reporter records. */
  reporterKey: Buffer;
  /** HMAC-SHA256 key for report secrets; lives outside the database by design. */
  secretHmacKey: Buffer;
}

/**
 * Keys come from configuration. For a quick start outside production they are generated once
 * into DATA_DIR/keys.json (mode 0600): outside the database, so a stolen dump alone reveals nothing.
 */
export function resolveKeys(config: Config, logger: Logger): Keys {
  if (config.REPORTER_KEY && config.SECRET_HMAC_KEY) {
    return {
      reporterKey: Buffer.from(config.REPORTER_KEY, 'base64'),
      secretHmacKey: Buffer.from(config.SECRET_HMAC_KEY, 'base64'),
    };
  }
  const file = join(config.DATA_DIR, 'keys.json');
  let stored: { reporterKey: string; secretHmacKey: string };
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    mkdirSync(config.DATA_DIR, { recursive: true });
    stored = { reporterKey: randomBytes(32).toString('base64'), secretHmacKey: randomBytes(32).toString('base64') };
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
    logger.warn({ file }, 'generated development keys; set REPORTER_KEY and SECRET_HMAC_KEY in production');
  }
  return {
    reporterKey: Buffer.from(config.REPORTER_KEY ?? stored.reporterKey, 'base64'),
    secretHmacKey: Buffer.from(config.SECRET_HMAC_KEY ?? stored.secretHmacKey, 'base64'),
  };
}
