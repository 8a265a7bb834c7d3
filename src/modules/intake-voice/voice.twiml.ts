import twilio from 'twilio';
import { type Locale, renderTemplate } from '../../app/templates.ts';

export type VoiceResponse = InstanceType<typeof twilio.twiml.VoiceResponse>;
type SayParent = Pick<VoiceResponse, 'say' | 'play'>;

const AUDIO_URL = /^https:\/\/\S+$/;

/** The `language` of <Say> and <Gather> for a prompt locale. */
export const sayLanguage = (locale: Locale) => (locale === 'en' ? 'en-US' : 'zh-CN');

/**
 * Every prompt is `templates/<locale>/voice/<name>.txt`, so an admin changes the wording without a
 * release. A template whose whole text is an https URL is recorded audio and becomes <Play>.
 */
export function prompt(parent: SayParent, locale: Locale, name: string, vars: Record<string, string> = {}): void {
  const text = renderTemplate(locale, `voice/${name}.txt`, vars).trim();
  if (!text) return;
  if (AUDIO_URL.test(text)) parent.play(text);
  else parent.say({ language: sayLanguage(locale) as 'zh-CN' }, text);
}

/** Digits read one by one in groups of four ("1 2 3 4，5 6 7 8，…"), so text-to-speech never says a number. */
export function digitsForSpeech(code: string): string {
  return (code.match(/\d{1,4}/g) ?? []).map((group) => group.split('').join(' ')).join('，');
}

/** Keypad or spoken menu choice: digits win; otherwise keywords in the caller's words. */
export function menuChoice(params: Record<string, string>, words: Record<string, RegExp>): string | null {
  const digits = (params.Digits ?? '').trim();
  if (digits) return digits;
  const speech = (params.SpeechResult ?? '').trim();
  if (!speech) return null;
  for (const [choice, re] of Object.entries(words)) if (re.test(speech)) return choice;
  return '?';
}

export function twimlResponse(): VoiceResponse {
  return new twilio.twiml.VoiceResponse();
}
