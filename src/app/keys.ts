import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/** The key that signs ledger checkpoints, and the public keys that verify them (this one and earlier ones). */
export interface LedgerKeys {
  signingKey: KeyObject;
  /** Short name of the signing key: the first 16 hex digits of the SHA-256 of its public key (SPKI DER). */
  keyId: string;
  /** Every public key a checkpoint may name, by key id: the signing key's and LEDGER_VERIFY_KEYS. */
  publicKeys: Map<string, KeyObject>;
}

export interface Keys {
  /** AES-256-GCM key for sealed reporter records. */
  reporterKey: KeyObject;
  /** HMAC-SHA256 key for report secrets; lives outside the database by design. */
  secretHmacKey: KeyObject;
  /** Ed25519 key signing ledger checkpoints; outside the database, so whoever can write the tables cannot re-seal them. */
  ledger: LedgerKeys;
}

interface StoredKeys {
  reporterKey?: string;
  secretHmacKey?: string;
  ledgerSigningKey?: string;
}

/**
 * Keys come from configuration. For a quick start outside production the missing ones are generated
 * once into DATA_DIR/keys.json (mode 0600): outside the database, so a stolen dump alone reveals
 * nothing and cannot be re-sealed.
 */
export function resolveKeys(config: Config, logger: Logger): Keys {
  let reporterKey = config.REPORTER_KEY;
  let secretHmacKey = config.SECRET_HMAC_KEY;
  let ledgerSigningKey = config.LEDGER_SIGNING_KEY;
  if (!reporterKey || !secretHmacKey || !ledgerSigningKey) {
    const file = join(config.DATA_DIR, 'keys.json');
    const stored = readKeysFile(file) ?? {};
    // Only what configuration does not give is generated and kept in the file.
    const missing = (!reporterKey && !stored.reporterKey) || (!secretHmacKey && !stored.secretHmacKey) || (!ledgerSigningKey && !stored.ledgerSigningKey);
    if (!reporterKey) stored.reporterKey ??= randomBytes(32).toString('base64');
    if (!secretHmacKey) stored.secretHmacKey ??= randomBytes(32).toString('base64');
    if (!ledgerSigningKey) stored.ledgerSigningKey ??= generateLedgerSigningKey();
    if (missing) {
      mkdirSync(config.DATA_DIR, { recursive: true });
      // Written whole and renamed over, so a crash never leaves half a keys file.
      writeFileSync(`${file}.tmp`, JSON.stringify(stored), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      logger.warn({ file }, 'generated development keys; set REPORTER_KEY, SECRET_HMAC_KEY and LEDGER_SIGNING_KEY in production');
    }
    reporterKey ??= stored.reporterKey!;
    secretHmacKey ??= stored.secretHmacKey!;
    ledgerSigningKey ??= stored.ledgerSigningKey!;
  }
  const signingKey = createPrivateKey({ key: Buffer.from(ledgerSigningKey, 'base64'), format: 'der', type: 'pkcs8' });
  const publicKeys = publicKeyMap([createPublicKey(signingKey), ...config.LEDGER_VERIFY_KEYS.map(spki)]);
  return {
    reporterKey: key(reporterKey),
    secretHmacKey: key(secretHmacKey),
    ledger: { signingKey, keyId: keyIdOf(createPublicKey(signingKey)), publicKeys },
  };
}

/**
 * The public keys `verify-ledger` checks signatures with, never generating anything: the signing
 * key's (from LEDGER_SIGNING_KEY or an existing DATA_DIR/keys.json) and LEDGER_VERIFY_KEYS. An
 * outside verifier needs only LEDGER_VERIFY_KEYS. Empty: signatures cannot be checked (and say so).
 */
export function verificationKeys(config: Config): Map<string, KeyObject> {
  const signing = config.LEDGER_SIGNING_KEY ?? readKeysFile(join(config.DATA_DIR, 'keys.json'))?.ledgerSigningKey;
  const keys = config.LEDGER_VERIFY_KEYS.map(spki);
  if (signing) keys.unshift(createPublicKey(createPrivateKey({ key: Buffer.from(signing, 'base64'), format: 'der', type: 'pkcs8' })));
  return publicKeyMap(keys);
}

/** A new Ed25519 signing key as LEDGER_SIGNING_KEY takes it (base64 PKCS#8 DER). */
export function generateLedgerSigningKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

/** A public key (or a private key's public half) as LEDGER_VERIFY_KEYS takes it (base64 SPKI DER). */
export function exportPublicKey(k: KeyObject): string {
  return (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'der', type: 'spki' }).toString('base64');
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

function readKeysFile(file: string): StoredKeys | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoredKeys;
  } catch {
    return null;
  }
}

const spki = (base64: string) => createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
const publicKeyMap = (keys: KeyObject[]) => new Map(keys.map((k) => [keyIdOf(k), k]));

/** Key objects are made once: building one from raw bytes on every call costs more than the HMAC. */
const key = (base64: string): KeyObject => createSecretKey(Buffer.from(base64, 'base64'));
