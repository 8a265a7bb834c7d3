import { Hono } from 'hono';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { LedgerWitness } from './ledger.witness.ts';

/** The ledger's digest for staff who file or check reports, and sending it to the witnesses on demand. */
export function ledgerRoutes(witness: LedgerWitness, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'ledger';

  docs.add({ method: 'get', path: '/api/v1/staff/ledger/digest', summary: 'The latest checkpoint’s digest (number, hash, signature) as one line', tag, auth: 'staff', responses: { 200: 'The digest (null before the first checkpoint)', 403: 'Role may not' } });
  app.get('/ledger/digest', async (c) => {
    return c.json(await witness.readDigest({ ctx: c.get('ctx')!, input: {} }));
  });

  docs.add({ method: 'post', path: '/api/v1/staff/ledger/digest', summary: 'Seal a checkpoint now and mail its digest to the witnesses (admin)', tag, auth: 'staff', responses: { 200: 'Sent; how many witnesses it reached', 403: 'Not an admin' } });
  app.post('/ledger/digest', async (c) => {
    return c.json(await witness.sendDigestNow({ ctx: c.get('ctx')!, input: {} }));
  });

  return app;
}
