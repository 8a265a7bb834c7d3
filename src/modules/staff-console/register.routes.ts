import { isAppError } from '../../app/errors.ts';
import { categories } from '../clues/clue.entity.ts';
import { fileList, toUploaded } from '../intake-web/web.files.ts';
import { registerClueBody } from '../clues/clues.schemas.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import { ct } from './console.i18n.ts';
import type { Errors } from './layout.pages.ts';
import { receiptPage, registerChannels, registerPage, type RegisterValues } from './register.pages.ts';
import { type ConsoleKit, type ConsoleApp, str, list, oneOf, bilingual } from './console.kit.ts';

/** Registering a letter, visit or call for its writer, visitor or caller, and the receipt that follows. */
export function registerRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, noStore, ctxOf, shell, units } = kit;
  // ---- register a letter, visit or call ----
  app.get('/clues/new', async (c) => {
    noStore(c);
    deps.clues.assertMayRegister({ ctx: ctxOf(c), input: {} });
    return c.html(registerPage(await shell(c, '/staff/clues/new'), { units: await units() }));
  });

  app.post('/clues/new', async (c) => {
    noStore(c);
    const form = await c.req.parseBody({ all: true });
    deps.csrf.verify(c, form._csrf);
    const s = await shell(c, '/staff/clues/new');
    const locale = s.locale;
    const v: RegisterValues = {
      channel: oneOf(registerChannels, str(form.channel)) ?? 'letter',
      identity: str(form.identity) === 'named' ? 'named' : 'anonymous',
      name: str(form.name)?.trim(),
      phone: str(form.phone)?.trim(),
      email: str(form.email)?.trim(),
      address: str(form.address)?.trim(),
      unitId: str(form.unitId) || undefined,
      categories: list(form.categories).filter((k) => (categories as readonly string[]).includes(k)),
      narrative: str(form.narrative) ?? '',
      occurredWhen: str(form.occurredWhen)?.trim(),
      accused: [0, 1, 2].map((i) => ({ name: str(form[`accused[${i}][name]`])?.trim(), role: str(form[`accused[${i}][role]`]), unitId: str(form[`accused[${i}][unitId]`]) || undefined })),
      followUp: str(form.followUp) === 'phone' ? 'phone' : 'web',
    };
    const named = v.identity === 'named';
    const files = await toUploaded(fileList(form.files));
    const parsed = registerClueBody.safeParse({
      channel: v.channel,
      categories: v.categories,
      narrative: v.narrative,
      occurredWhen: v.occurredWhen || null,
      unitId: v.unitId ?? null,
      accused: v.accused!.filter((a) => a.name).map((a) => ({ name: a.name, role: a.role ?? 'unknown', unitId: a.unitId ?? null })),
      reporter: named ? { name: v.name ?? '', ...(v.phone ? { phone: v.phone } : {}), ...(v.email ? { email: v.email } : {}), ...(v.address ? { address: v.address } : {}) } : null,
      locale,
      followUp: v.followUp,
    });
    const errors: Errors = {};
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const [head, second] = issue.path;
        const field =
          head === 'narrative' ? 'narrative'
          : head === 'unitId' ? 'unitId'
          : head === 'reporter' ? (second === 'name' ? 'name' : second === 'email' ? 'email' : second === 'phone' ? 'phone' : second === 'address' ? 'address' : 'phone')
          : head === 'accused' ? `accused-${String(second)}-name`
          : 'narrative';
        if (errors[field]) continue;
        errors[field] =
          field === 'narrative' ? ct(locale, 'narrativeRequired')
          : field === 'phone' && second === undefined ? ct(locale, 'namedHint')
          : field === 'name' ? ct(locale, 'nameRequired')
          : issue.message;
      }
      // A browser cannot be given its files back: say so beside the file field rather than lose them silently.
      if (files.length) errors.files = ct(locale, 'filesNotKept');
      return c.html(registerPage(s, { units: await units(), values: v, errors }), 400);
    }
    try {
      const result = await deps.clues.registerByStaff({ ctx: ctxOf(c), input: { ...parsed.data, receivedAt: undefined, files } });
      deps.metrics.cluesRegistered.inc({ channel: result.clue.channel });
      return c.html(
        receiptPage(s, { clueId: result.clue.id, code: formatTrackingCode(result.trackingCode), secret: result.secret, channel: result.clue.channel, receivedAt: result.clue.receivedAt, files: files.length }),
        201,
      );
    } catch (err) {
      if (isAppError(err) && (err.code === 'clue.unknown_unit' || err.code.startsWith('attachment.'))) {
        const field = err.code === 'clue.unknown_unit' ? 'unitId' : 'files';
        return c.html(registerPage(s, { units: await units(), values: v, errors: { [field]: bilingual(locale, err.message), ...(field === 'unitId' && files.length ? { files: ct(locale, 'filesNotKept') } : {}) } }), 422);
      }
      throw err;
    }
  });
}
