/* global process, console */
// The npm scripts' entry: plain JavaScript, so any Node.js can read it. Node 20 cannot even load
// main.ts (it strips no TypeScript: ERR_UNKNOWN_FILE_EXTENSION), so the version is checked first
// and the user told in one line what to install.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`需要 Node.js 24 或更新版本（当前 ${process.version}）/ Node.js 24 or newer is needed (this is ${process.version}): install it from https://nodejs.org/ or with \`nvm install 24\`.`);
  process.exit(1);
}
await import('./main.ts');
