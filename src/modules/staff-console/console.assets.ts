import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The staff console's stylesheet, script and htmx (from its npm package, never a CDN), served by the
 * app under /staff/assets/<name>.<hash>.<ext> like the citizen assets (web.assets.ts): a strict
 * Content-Security-Policy allows only 'self', so nothing is inline.
 */
const require = createRequire(import.meta.url);
const dir = join(import.meta.dirname, 'assets');
const files = {
  'console.css': { path: join(dir, 'console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { path: join(dir, 'console.js'), type: 'text/javascript; charset=utf-8' },
  'htmx.js': { path: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
} as const;
type AssetName = keyof typeof files;

interface Asset {
  body: Buffer;
  type: string;
  hash: string;
  url: string;
}

const assets = new Map<string, { asset: Asset; immutable: boolean }>();
const byName = {} as Record<AssetName, Asset>;
for (const [name, f] of Object.entries(files) as [AssetName, { path: string; type: string }][]) {
  const body = readFileSync(f.path);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const [base, ext] = name.split('.') as [string, string];
  const asset = { body, type: f.type, hash, url: `/staff/assets/${base}.${hash}.${ext}` };
  byName[name] = asset;
  assets.set(`${base}.${hash}.${ext}`, { asset, immutable: true });
  assets.set(name, { asset, immutable: false });
}

export const consoleAssetUrl = (name: AssetName) => byName[name].url;

export function consoleAssetResponse(file: string): { body: Buffer; headers: Record<string, string> } | null {
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
