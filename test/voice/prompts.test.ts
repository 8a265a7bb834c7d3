import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pinIsWeak } from '../../src/modules/clues/secrets.ts';
import { digitsForSpeech, menuChoice, prompt, twimlResponse } from '../../src/modules/intake-voice/voice.twiml.ts';

const templates = join(import.meta.dirname, '..', '..', 'templates');

describe('voice prompts', () => {
  it('every prompt exists in both locales', () => {
    const zh = readdirSync(join(templates, 'zh-CN', 'voice')).sort();
    const en = readdirSync(join(templates, 'en', 'voice')).sort();
    expect(zh.length).toBeGreaterThan(30);
    expect(en).toEqual(zh);
    expect(readdirSync(join(templates, 'en', 'sms')).sort()).toEqual(readdirSync(join(templates, 'zh-CN', 'sms')).sort());
  });

  it('a template is spoken with <Say language="zh-CN">, or played with <Play> when its text is an https URL', () => {
    const name = `zz-test-audio-${process.pid}`;
    const file = join(templates, 'zh-CN', 'voice', `${name}.txt`);
    writeFileSync(file, 'https://media.example.gov.cn/prompts/greeting.mp3\n');
    try {
      const vr = twimlResponse();
      prompt(vr, 'zh-CN', name);
      prompt(vr, 'zh-CN', 'goodbye');
      expect(vr.toString()).toBe(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Play>https://media.example.gov.cn/prompts/greeting.mp3</Play><Say language="zh-CN">感谢您的来电，再见。</Say></Response>',
      );
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('reads a tracking code digit by digit in groups of four', () => {
    expect(digitsForSpeech('123456789012')).toBe('1 2 3 4，5 6 7 8，9 0 1 2');
  });

  it('understands keys and words', () => {
    const words = { '1': /举报/, '2': /查询/ };
    expect(menuChoice({ Digits: '2' }, words)).toBe('2');
    expect(menuChoice({ SpeechResult: '我想查询进度' }, words)).toBe('2');
    expect(menuChoice({ SpeechResult: '喂？' }, words)).toBe('?');
    expect(menuChoice({}, words)).toBeNull();
  });

  it('refuses PINs anyone would guess first', () => {
    for (const pin of ['000000', '111111', '123456', '654321', '890123']) expect(pinIsWeak(pin), pin).toBe(true);
    for (const pin of ['358149', '246810', '120943']) expect(pinIsWeak(pin), pin).toBe(false);
  });
});
