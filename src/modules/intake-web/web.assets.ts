import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The citizen pages' stylesheet and script, served by the app itself (a strict Content-Security-
 * Policy allows only `'self'`: no inline style or script). Each is read once at start and named by
 * its content hash (`/assets/site.<hash>.css`), so it can be cached for a year and a new release
 * is fetched at once; the plain name answers too, revalidated on every use.
 */
const files = {
  'site.css': 'text/css; charset=utf-8',
  'site.js': 'text/javascript; charset=utf-8',
} as const;
type AssetName = keyof typeof files;

interface Asset {
  body: Buffer;
  type: string;
  hash: string;
  url: string;
}

const dir = join(import.meta.dirname, 'assets');
const assets = new Map<string, { asset: Asset; immutable: boolean }>();
const byName = {} as Record<AssetName, Asset>;
for (const [name, type] of Object.entries(files) as [AssetName, string][]) {
  const body = readFileSync(join(dir, name));
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const [base, ext] = name.split('.') as [string, string];
  const asset = { body, type, hash, url: `/assets/${base}.${hash}.${ext}` };
  byName[name] = asset;
  assets.set(`${base}.${hash}.${ext}`, { asset, immutable: true });
  assets.set(name, { asset, immutable: false });
}

/** The versioned URL of an asset, for the pages' `<link>` and `<script>`. */
export const assetUrl = (name: AssetName) => byName[name].url;

/** The file and its headers for `/assets/<file>`, or null. */
export function assetResponse(file: string): { body: Buffer; headers: Record<string, string> } | null {
  const found = assets.get(file);
  if (!found) return null;
  return {
    body: found.asset.body,
    headers: {
      'content-type': found.asset.type,
      'cache-control': found.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: `"${found.asset.hash}"`,
      'x-content-type-options': 'nosniff',
    },
  };
}
