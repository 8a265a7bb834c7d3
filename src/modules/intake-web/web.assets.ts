import { join } from 'node:path';
import { createAssetSet } from '../../app/assets.ts';

/** The citizen pages' stylesheet and script, under /assets/<name>.<hash>.<ext> (app/assets.ts). */
const dir = join(import.meta.dirname, 'assets');
const set = createAssetSet('/assets', {
  'site.css': { path: join(dir, 'site.css'), type: 'text/css; charset=utf-8' },
  'site.js': { path: join(dir, 'site.js'), type: 'text/javascript; charset=utf-8' },
});

export const assetUrl = set.url;
export const assetResponse = set.response;
