import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import { cleanForm } from '../../app/text.ts';
import { isAppError } from '../../app/errors.ts';
import { idParam, parseWith, readJson } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Principal } from '../staff/access.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { dispositions, dispositionText } from './referral.entity.ts';
import { referralNotFound } from './referrals.errors.ts';
import type { ReferralUseCases } from './referrals.usecases.ts';
import { bodyInput, officerAction, referBody } from './referrals.schemas.ts';

/** Staff side: bodies, proposal, confirmation. */
export function staffReferralRoutes(referrals: ReferralUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'referrals';
  const id = (raw: string) => idParam(raw, clueNotFound);

  docs.add({ method: 'get', path: '/api/v1/staff/discipline-bodies', summary: 'Configured discipline bodies and their authority', tag, auth: 'staff', responses: { 200: 'Bodies' } });
  app.get('/discipline-bodies', async (c) => c.json({ items: await referrals.listBodies({ ctx: c.get('ctx')!, input: {} }) }));

  docs.add({ method: 'post', path: '/api/v1/staff/discipline-bodies', summary: 'Configure a discipline body (admin)', tag, auth: 'staff', body: bodyInput, responses: { 201: 'Created', 403: 'Not an admin' } });
  app.post('/discipline-bodies', async (c) => c.json(await referrals.createBody({ ctx: c.get('ctx')!, input: await readJson(c, bodyInput) }), 201));

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id/referral-proposal', summary: 'The body the rules propose for a clue about an official, caseworker or cadre', tag, auth: 'staff', responses: { 200: 'Proposal', 409: 'Not a clue to refer' } });
  app.get('/clues/:id/referral-proposal', async (c) => c.json(await referrals.proposal({ ctx: c.get('ctx')!, input: { clueId: id(c.req.param('id')) } })));

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id/referrals', summary: 'The clue’s referrals', tag, auth: 'staff', responses: { 200: 'Referrals' } });
  app.get('/clues/:id/referrals', async (c) => c.json({ items: await referrals.listForClue({ ctx: c.get('ctx')!, input: { clueId: id(c.req.param('id')) } }) }));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/referrals', summary: 'A supervisor confirms the referral (to the proposed body unless another is given); the packet is emailed', tag, auth: 'staff', body: referBody, responses: { 201: 'Referred', 403: 'Not a supervisor', 409: 'Not referable in this status', 422: 'No body with authority' } });
  app.post('/clues/:id/referrals', async (c) => {
    const body = await readJson(c, referBody);
    return c.json(await referrals.refer({ ctx: c.get('ctx')!, input: { clueId: id(c.req.param('id')), bodyId: body.bodyId, override: body.override } }), 201);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/referrals/:id/packet', summary: 'The referral packet, for a signed-in officer of the body it went to; every opening is a ledger event', tag, auth: 'staff', responses: { 200: 'The packet', 404: 'No such referral to this officer’s body' } });
  app.get('/referrals/:id/packet', async (c) => c.json(await referrals.packetForOfficer({ ctx: c.get('ctx')!, input: { referralId: idParam(c.req.param('id'), referralNotFound) } })));

  docs.add({ method: 'post', path: '/api/v1/staff/referrals/:id/revoke-link', summary: 'Revoke a referral’s packet link (supervisor, admin); recorded on the ledger', tag, auth: 'staff', responses: { 200: 'Revoked', 403: 'Not a supervisor', 404: 'No such referral' } });
  app.post('/referrals/:id/revoke-link', async (c) => c.json(await referrals.revokeLink({ ctx: c.get('ctx')!, input: { referralId: idParam(c.req.param('id'), referralNotFound) } })));

  return app;
}

/** The packet page's style, served as an asset named by its hash: the page needs no inline style, so its CSP allows none. */
const STYLE = 'body{font:16px/1.6 system-ui,sans-serif;max-width:44rem;margin:0 auto;padding:1rem}pre{white-space:pre-wrap;background:#f5f5f5;padding:.75rem}label{display:block;margin-top:.75rem;font-weight:600}textarea,select{width:100%}button{margin-top:.75rem;padding:.6rem 1.2rem}';
const STYLE_PATH = `/referrals/assets/referral.${createHash('sha256').update(STYLE).digest('hex').slice(0, 16)}.css`;
/** Framing refused (the packet names the persons reported), no script, no inline style, forms only back here. */
const PAGE_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The discipline body's side, opened through the signed link in the referral email. A body with
 * officer accounts opens it signed in (`Authorization: Bearer` of one of its officers); `authenticate`
 * checks that token.
 */
export function publicReferralRoutes(referrals: ReferralUseCases, authenticate: (token: string | undefined) => Promise<Principal>) {
  const app = new Hono();

  const page = (title: string, body: unknown) => html`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${title}</title>
<link rel="stylesheet" href="${STYLE_PATH}"></head><body>${body}</body></html>`;

  const protect = (c: Context) => {
    c.header('Cache-Control', 'no-store');
    c.header('X-Frame-Options', 'DENY');
    c.header('Content-Security-Policy', PAGE_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
  };
  /** The signed-in officer, if a bearer token came; a bad token is no viewer at all. */
  const viewer = async (c: Context): Promise<Principal | null> => {
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (!token) return null;
    return authenticate(token).catch(() => null);
  };

  app.get(STYLE_PATH, (c) => c.body(STYLE, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' }));

  app.get('/referrals/:id', async (c) => {
    protect(c);
    const { id } = c.req.param();
    const { exp = '', sig = '' } = c.req.query();
    try {
      const { referral, vars } = await referrals.openLink(id, exp, sig, await viewer(c));
      const hidden = html`<input type="hidden" name="exp" value="${exp}"><input type="hidden" name="sig" value="${sig}">`;
      return c.html(
        page(
          '线索移交 / Referral',
          html`<h1>线索移交 / Referral ${vars.trackingCode}</h1><p>接收机关 / To: ${vars.bodyName} · 状态 / Status: ${referral.status}</p>
<h2>问题线索 / The clue</h2><pre>${vars.narrative}</pre><p>被举报人 / Persons reported: ${vars.accused}</p>
<h2>核实情况 / Findings so far</h2><pre>${vars.findings}</pre><h2>证据材料 / Evidence</h2><pre>${vars.evidence}</pre>
<h2>举报人 / Reporter</h2><p>${vars.reporter}</p>
<form method="post" action="/referrals/${id}/actions">${hidden}<input type="hidden" name="kind" value="acknowledge"><button>签收 / Acknowledge receipt</button></form>
<form method="post" action="/referrals/${id}/actions">${hidden}<input type="hidden" name="kind" value="request_info"><label for="text">需要补充的材料 / Ask for more information</label><textarea id="text" name="text" required></textarea><button>发送 / Send</button></form>
<form method="post" action="/referrals/${id}/actions">${hidden}<input type="hidden" name="kind" value="report"><label for="disposition">处置方式 / Disposal</label><select id="disposition" name="disposition">${dispositions.map((d) => html`<option value="${d}">${dispositionText[d].zh} / ${dispositionText[d].en}</option>`)}</select><label for="result">处理结果 / Result</label><textarea id="result" name="result" required></textarea><button>反馈 / Report</button></form>`,
        ),
      );
    } catch (err) {
      if (isAppError(err) && (err.code === 'referral.link_invalid' || err.code === 'referral.sign_in_required')) return c.html(page('链接无效 / Invalid link', html`<p>${err.message}</p>`), 403);
      throw err;
    }
  });

  app.post('/referrals/:id/actions', async (c) => {
    protect(c);
    const { id } = c.req.param();
    const type = c.req.header('content-type') ?? '';
    const body: unknown = type.includes('json') ? await c.req.json().catch(() => ({})) : await c.req.parseBody();
    const raw = cleanForm((body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, string>);
    const action = parseWith(officerAction, raw);
    const result = await referrals.officerAction(id, String(raw.exp ?? c.req.query('exp') ?? ''), String(raw.sig ?? c.req.query('sig') ?? ''), action, await viewer(c));
    if (type.includes('json')) return c.json(result);
    return c.html(page('已记录 / Recorded', html`<p>已记录，谢谢。/ Recorded, thank you.</p><p>状态 / Status: ${result.status}</p>`));
  });

  return app;
}
