import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Static files the app serves itself (a strict Content-Security-Policy allows only `'self'`: no
 * inline style or script, no CDN). Each is read once at start and named by its content hash
 * (`<prefix>/site.<hash>.css`), so it can be cached for a year and a new release is fetched at
 * once; the plain name answers too, revalidated on every use.
 */
export function createAssetSet<Name extends string>(prefix: string, files: Record<Name, { path: string; type: string }>) {
  interface Asset {
    body: Buffer;
    type: string;
    hash: string;
    url: string;
  }
  const assets = new Map<string, { asset: Asset; immutable: boolean }>();
  const byName = {} as Record<Name, Asset>;
  for (const [name, f] of Object.entries(files) as [Name, { path: string; type: string }][]) {
    const body = readFileSync(f.path);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const [base, ext] = name.split('.') as [string, string];
    const asset = { body, type: f.type, hash, url: `${prefix}/${base}.${hash}.${ext}` };
    byName[name] = asset;
    assets.set(`${base}.${hash}.${ext}`, { asset, immutable: true });
    assets.set(name, { asset, immutable: false });
  }

  return {
    /** The versioned URL of an asset, for the pages' `<link>` and `<script>`. */
    url: (name: Name) => byName[name].url,
    /** The file and its headers for `<prefix>/<file>`, or null. */
    response(file: string): { body: Buffer; headers: Record<string, string> } | null {
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
    },
  };
}
