import type { Locale } from '../../app/templates.ts';
import { categories } from '../clues/clue.entity.ts';
import { reporterEmail, reporterPhone } from '../clues/clues.schemas.ts';
import { label } from './web.i18n.ts';
import type { FieldError, ReportFormValues } from './web.pages.ts';

/** The report form without JavaScript: its fields read into the JSON API's shape, and its mistakes in words. */

/** A form field's text, if it is one. */
export const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/**
 * Reads the no-JavaScript form into the same shape the JSON API takes. For an anonymous report
 * the contact fields are dropped here, whatever was typed (the page script does not even send
 * them): they are neither stored nor shown again.
 */
export function formValues(form: Record<string, unknown>): ReportFormValues {
  const cats = form.categories;
  const accused = [0, 1, 2].map((i) => ({
    name: str(form[`accused[${i}][name]`])?.trim(),
    role: str(form[`accused[${i}][role]`]),
    unitId: str(form[`accused[${i}][unitId]`]) || undefined,
  }));
  const named = form.identity === 'named';
  return {
    narrative: str(form.narrative),
    occurredWhen: str(form.occurredWhen),
    unitId: str(form.unitId) || undefined,
    categories: (Array.isArray(cats) ? cats : cats === undefined ? [] : [cats]).filter((x): x is string => typeof x === 'string'),
    accused,
    identity: named ? 'named' : 'anonymous',
    ...(named
      ? { name: str(form.name), phone: str(form.phone), email: str(form.email), consentToShare: form.consentToShare === 'yes', notifyProgress: form.notifyProgress === 'yes' }
      : {}),
  };
}

/** The form's values as the JSON API's input, and for each accused of it the form row it came from. */
export function reportInputFrom(v: ReportFormValues, locale: Locale) {
  const rows = (v.accused ?? []).map((a, row) => ({ a, row })).filter(({ a }) => a.name);
  return {
    rows: rows.map(({ row }) => row),
    input: {
      narrative: v.narrative ?? '',
      occurredWhen: v.occurredWhen?.trim() || null,
      unitId: v.unitId ?? null,
      categories: v.categories ?? [],
      accused: rows.map(({ a }) => ({ name: a.name, role: a.role || 'unknown', unitId: a.unitId ?? null })),
      reporter:
        v.identity === 'named'
          ? {
              name: v.name?.trim() ?? '',
              phone: v.phone?.trim() || undefined,
              email: v.email?.trim() || undefined,
              consentToShare: v.consentToShare ?? false,
              notifyProgress: v.notifyProgress ?? false,
            }
          : null,
      locale,
    },
  };
}

/** What to say for each kind of mistake, by the element the error summary links to. */
export const fieldMessages: Record<string, { zh: string; en: string }> = {
  narrative: { zh: '请写下发生了什么，至少一句话。', en: 'Say what happened, at least one sentence.' },
  occurredWhen: { zh: '时间请写得简短一些（不超过 200 字）。', en: 'Keep the time short (at most 200 characters).' },
  unitId: { zh: '所选单位不存在，请重新选择。', en: 'The chosen unit does not exist; choose again.' },
  category: { zh: '问题类别有误，请重新选择。', en: 'Choose the kinds of problem again.' },
  'accused-name': { zh: '被举报人的姓名太长了（不超过 200 字）。', en: 'The name of the person reported is too long (at most 200 characters).' },
  'accused-role': { zh: '请重新选择被举报人的身份。', en: 'Choose the role of the person reported again.' },
  'accused-unit': { zh: '请重新选择被举报人所在单位。', en: 'Choose the unit of the person reported again.' },
  name: { zh: '请填写您的姓名（实名举报需要）。', en: 'Give your name (a named report needs it).' },
  contact: { zh: '实名举报请至少留下手机号码或电子邮箱之一。', en: 'For a named report give a phone number or an email address.' },
  phone: { zh: '手机号码的格式不对，请只填数字，例如 13800001111。', en: 'The phone number is not valid; use digits only, for example 13800001111.' },
  email: { zh: '电子邮箱的格式不对，例如 name@example.com。', en: 'The email address is not valid, for example name@example.com.' },
  files: { zh: '附件有误。', en: 'There is a problem with the files.' },
};

/** Form order, so the summary lists mistakes as the page shows the fields. */
const fieldOrder = ['narrative', 'occurredWhen', 'unitId', 'category', 'accused', 'files', 'name', 'phone', 'email'];

/**
 * Every mistake of a submitted form, each pointing at the field to fix (its id), in form order.
 * The contact fields are checked here, all at once, so a reporter is not sent back twice.
 */
export function formErrors(locale: Locale, v: ReportFormValues, rows: number[], issues: { path: string }[]): FieldError[] {
  const say = (key: string) => label(locale, fieldMessages[key]!);
  const found = new Map<string, string>();
  const add = (field: string, key: string) => {
    if (!found.has(field)) found.set(field, say(key));
  };
  if (v.identity === 'named') {
    const phone = v.phone?.trim();
    const email = v.email?.trim();
    if (!v.name?.trim()) add('name', 'name');
    if (!phone && !email) add('phone', 'contact');
    if (phone && !reporterPhone.safeParse(phone).success) add('phone', 'phone');
    if (email && !reporterEmail.safeParse(email).success) add('email', 'email');
  }
  for (const { path } of issues) {
    const [head, index, prop] = path.split('.');
    if (head === 'reporter') continue;
    if (head === 'accused') {
      const row = rows[Number(index)] ?? 0;
      const part = prop === 'role' ? 'role' : prop === 'unitId' ? 'unit' : 'name';
      add(`accused-${row}-${part}`, `accused-${part}`);
    } else if (head === 'categories') add(`category-${categories[0]}`, 'category');
    else if (head === 'attachments') add('files', 'files');
    else if (head === 'occurredWhen' || head === 'unitId') add(head, head);
    else add('narrative', 'narrative');
  }
  const rank = (field: string) => fieldOrder.indexOf(field.startsWith('accused') ? 'accused' : field.startsWith('category') ? 'category' : field);
  return [...found].map(([field, message]) => ({ field, message })).sort((a, b) => rank(a.field) - rank(b.field));
}

