import type { Principal } from './access.ts';

/**
 * The Hono environment of every route: the staff authentication middleware (src/roots/server.ts)
 * sets the signed-in principal and their token. Routes import this type, never the server.
 */
export type AppEnv = { Variables: { principal?: Principal; token?: string } };
