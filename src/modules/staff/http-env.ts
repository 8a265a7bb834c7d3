import type { Principal, StaffContext } from './access.ts';

/**
 * The Hono environment of every route: the staff authentication middleware (src/roots/server.ts)
 * sets the signed-in principal, their token and the use-case context `ctx` (`verb({ ctx, input })`).
 * Routes import this type, never the server.
 */
export type AppEnv = { Variables: { principal?: Principal; token?: string; ctx?: StaffContext } };
