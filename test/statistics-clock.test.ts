import { describe, expect, it } from 'vitest';
import { localClock } from '../src/modules/statistics/clue-export.ts';

describe('the export’s local clock', () => {
  it('formats as Intl does, across daylight-saving changes and in a zone without them', () => {
    for (const timeZone of ['Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
      const local = localClock(timeZone);
      const intl = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
      // Every 7 minutes and 13 seconds through 2026: both changes of each zone, at every hour of the day.
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 433_000) {
        const iso = local(new Date(t));
        expect(`${iso.slice(0, 10)} ${iso.slice(11, 16)}`, `${timeZone} ${new Date(t).toISOString()}`).toBe(intl.format(new Date(t)));
      }
    }
  });
});
