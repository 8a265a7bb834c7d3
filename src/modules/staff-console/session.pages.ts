import { html, raw } from 'hono/html';
import { ct } from './console.i18n.ts';
import { type Errors, type Shell, layout, errorSummary, input } from './layout.pages.ts';

/** Sign-in, and the account page's two-factor enrolment (QR code, confirmation, recovery codes). */

export function loginPage(s: Shell, ctx: { errors?: Errors; username?: string; notice?: string; next?: string }) {
  const { locale } = s;
  const errors = ctx.errors ?? {};
  return layout(
    s,
    ct(locale, 'loginTitle'),
    html`<div class="narrow"><h1>${ct(locale, 'loginTitle')}</h1>
${errorSummary(locale, errors)}
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
<form method="post" action="/staff/login" novalidate>
<input type="hidden" name="_csrf" value="${s.csrf}">
${ctx.next ? html`<input type="hidden" name="next" value="${ctx.next}">` : ''}
${input(errors, { id: 'username', label: ct(locale, 'username'), value: ctx.username, extra: 'autocomplete="username" autocapitalize="none" spellcheck="false"', required: true })}
${input(errors, { id: 'password', label: ct(locale, 'password'), type: 'password', extra: 'autocomplete="current-password"', required: true })}
${input(errors, { id: 'totp', label: ct(locale, 'totp'), hint: ct(locale, 'totpHint'), extra: 'autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="32"' })}
<button type="submit">${ct(locale, 'signIn')}</button></form></div>`,
    { hasErrors: Object.keys(errors).length > 0, bare: true },
  );
}


/** Account and security: two-factor sign-in on or off, and the way to turn it on. */
export function accountPage(s: Shell, ctx: { twoFactorOn: boolean; required: boolean; error?: string }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  return layout(
    s,
    label('accountTitle'),
    html`<h1>${label('accountTitle')}</h1>
<section class="card" id="two-factor"><h2>${label('twoFactor')}</h2>
${ctx.error ? html`<p class="error-text" role="alert" id="enrol-error">${ctx.error}</p>` : ''}
${ctx.twoFactorOn
      ? html`<p id="two-factor-state">✓ ${label('twoFactorOn')}</p>`
      : html`${ctx.required ? html`<p class="notice" role="status">${label('twoFactorNeeded')}</p>` : ''}<p id="two-factor-state">${label('twoFactorOff')}</p>
<form method="post" action="/staff/account/totp"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit" id="totp-start">${label('twoFactorStart')}</button></form>`}
</section>`,
    { bare: ctx.required && !ctx.twoFactorOn },
  );
}

/** The QR code (inline SVG: no script, no style attribute) and the key, with the confirming form. */
export function enrolPage(s: Shell, ctx: { qrSvg: string; secret: string }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const grouped = ctx.secret.replace(/(.{4})(?=.)/g, '$1 ');
  return layout(
    s,
    label('enrolTitle'),
    html`<h1>${label('enrolTitle')}</h1><p>${label('enrolScan')}</p>
<figure class="qr" id="totp-qr">${raw(ctx.qrSvg)}</figure>
<p>${label('enrolKey')}: <code id="totp-secret" class="secret">${grouped}</code></p>
<form method="post" action="/staff/account/totp/confirm" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="field"><label for="code">${label('enrolCode')}</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="10" required></div>
<button type="submit">${label('enrolConfirm')}</button></form>`,
    { bare: true },
  );
}

export function recoveryCodesPage(s: Shell, ctx: { codes: string[] }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  return layout(
    s,
    label('recoveryTitle'),
    html`<h1>${label('recoveryTitle')}</h1><p>${label('recoveryText')}</p>
<ol class="recovery-codes" id="recovery-codes">${ctx.codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<p><a href="/staff">${label('backToQueue')}</a></p>`,
  );
}
