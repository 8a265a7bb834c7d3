import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createAssetSet } from '../../app/assets.ts';

/**
 * The staff console's stylesheet, script and htmx (from its npm package, never a CDN), served by the
 * app under /staff/assets/<name>.<hash>.<ext> like the citizen assets (app/assets.ts).
 */
const require = createRequire(import.meta.url);
const dir = join(import.meta.dirname, 'assets');
const set = createAssetSet('/staff/assets', {
  'console.css': { path: join(dir, 'console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { path: join(dir, 'console.js'), type: 'text/javascript; charset=utf-8' },
  'htmx.js': { path: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
});

export const consoleAssetUrl = set.url;
export const consoleAssetResponse = set.response;
