import { expect } from 'chai';
import { SETTINGS } from '../settings/index.js';
import {
  addDays,
  atLocalTime,
  dateInZone,
  inQuietHours,
  isWorkingDay,
  nextWorkingDay,
  outOfQuietHours,
  parseDuration,
  resolveWait,
  type QuietHours,
  type WorkingCalendar,
} from './schedule.js';

const SH = 'Asia/Shanghai';
const NY = 'America/New_York';
/** The shipped default: the State Council's 2026 arrangement. */
const CN: WorkingCalendar = {
  holidays: [...SETTINGS['sop.workingCalendar'].default.holidays],
  workdays: [...SETTINGS['sop.workingCalendar'].default.workdays],
};
const NONE: WorkingCalendar = { holidays: [], workdays: [] };
const QUIET: QuietHours = { start: '21:00', end: '08:00', timezone: SH };

/** An instant written as Shanghai wall time (UTC+8 all year). */
const sh = (local: string) => new Date(`${local}+08:00`);
const iso = (d: Date) => d.toISOString();

describe('SOP schedule', () => {
  describe('parseDuration', () => {
    it('reads minutes, hours, days and weeks as milliseconds', () => {
      expect(['30m', '2h', '3d', '1w'].map(parseDuration)).to.deep.equal([1_800_000, 7_200_000, 259_200_000, 604_800_000]);
    });

    it('rejects durations the template schema would reject', () => {
      for (const bad of ['', '0m', '1.5h', '2y', '123456m', ' 3d', '3D', 'd']) expect(() => parseDuration(bad), bad).to.throw(RangeError);
    });
  });

  describe('dateInZone and atLocalTime', () => {
    it('reads the same instant as different dates in different zones', () => {
      const at = new Date('2026-12-12T17:00:00Z');
      expect([dateInZone(at, SH), dateInZone(at, 'UTC'), dateInZone(at)]).to.deep.equal(['2026-12-13', '2026-12-12', '2026-12-13']);
    });

    it('finds the instant of a local time of day ("the daily scan at 09:00 Asia/Shanghai")', () => {
      expect(iso(atLocalTime('2026-12-13', '09:00', SH))).to.equal('2026-12-13T01:00:00.000Z');
      expect(iso(atLocalTime('2026-12-13', '00:00'))).to.equal('2026-12-12T16:00:00.000Z');
      expect(iso(atLocalTime('2026-07-01', '09:00', NY))).to.equal('2026-07-01T13:00:00.000Z');
      expect(iso(atLocalTime('2026-01-15', '09:00', NY))).to.equal('2026-01-15T14:00:00.000Z');
    });

    it('moves a local time inside the spring-forward gap forward by the gap', () => {
      // 2026-03-08 in New York: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist; 03:30 EDT is 07:30Z.
      expect(iso(atLocalTime('2026-03-08', '02:30', NY))).to.equal('2026-03-08T07:30:00.000Z');
    });

    it('takes the first of a local time that happens twice at the autumn change', () => {
      // 2026-11-01 in New York: 01:30 EDT (05:30Z), then 01:30 EST (06:30Z).
      expect(iso(atLocalTime('2026-11-01', '01:30', NY))).to.equal('2026-11-01T05:30:00.000Z');
    });

    it('rejects impossible dates, times of day and unknown zones', () => {
      expect(() => atLocalTime('2026-02-30', '09:00', SH)).to.throw(RangeError);
      expect(() => atLocalTime('2026-12-13', '24:00', SH)).to.throw(RangeError);
      expect(() => atLocalTime('2026-12-13', '9:00', SH)).to.throw(RangeError);
      expect(() => atLocalTime('2026-12-13', '09:00', 'Mars/Olympus')).to.throw(RangeError);
      expect(() => dateInZone(new Date(Number.NaN), SH)).to.throw(RangeError);
    });

    it('adds calendar days across month, year and leap-day boundaries', () => {
      expect([addDays('2026-12-31', 1), addDays('2024-02-28', 1), addDays('2026-03-01', -1), addDays('2023-03-01', 365)]).to.deep.equal([
        '2027-01-01',
        '2024-02-29',
        '2026-02-28',
        '2024-02-29',
      ]);
    });
  });

  describe('working days', () => {
    it('treats Monday to Friday as working days and weekends as days off', () => {
      const week = ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08'];
      expect(week.map((d) => isWorkingDay(d, NONE))).to.deep.equal([true, true, true, true, true, false, false]);
    });

    it('treats a weekday public holiday as a day off', () => {
      expect(isWorkingDay('2026-10-01', CN)).to.equal(false); // 国庆, a Thursday
      expect(isWorkingDay('2026-02-16', CN)).to.equal(false); // 春节, a Monday
      expect(isWorkingDay('2026-10-01', NONE)).to.equal(true);
    });

    it('treats a make-up Sunday as a working day', () => {
      expect(isWorkingDay('2026-09-20', CN)).to.equal(true); // 调休 before 国庆
      expect(isWorkingDay('2026-01-04', CN)).to.equal(true); // 调休 after 元旦
      expect(isWorkingDay('2026-09-20', NONE)).to.equal(false);
    });

    it('reads an instant as a date in the given zone before deciding', () => {
      // 16:30Z on 30 September is already 1 October (国庆) in Shanghai, still a Wednesday in UTC.
      const at = new Date('2026-09-30T16:30:00Z');
      expect([isWorkingDay(at, CN, SH), isWorkingDay(at, CN, 'UTC'), isWorkingDay(at, CN)]).to.deep.equal([false, true, false]);
    });

    it('finds the next working day over a weekend', () => {
      expect(nextWorkingDay('2026-03-06', CN)).to.equal('2026-03-09');
      expect(nextWorkingDay('2026-03-09', CN)).to.equal('2026-03-10');
    });

    it('finds the next working day after the 国庆 block, then the make-up Saturday', () => {
      expect(nextWorkingDay('2026-09-30', CN)).to.equal('2026-10-08');
      expect(nextWorkingDay('2026-10-09', CN)).to.equal('2026-10-10');
      expect(nextWorkingDay('2026-02-13', CN)).to.equal('2026-02-14'); // make-up Saturday before 春节
      expect(nextWorkingDay('2026-02-14', CN)).to.equal('2026-02-24');
    });

    it('reports a calendar that leaves no working day instead of looping', () => {
      const everyDay = Array.from({ length: 800 }, (_, i) => addDays('2026-01-01', i));
      expect(() => nextWorkingDay('2026-01-01', { holidays: everyDay, workdays: [] })).to.throw(RangeError, /working calendar/);
    });
  });

  describe('resolveWait', () => {
    it('adds minutes and hours as elapsed time', () => {
      expect(iso(resolveWait(sh('2026-03-02T10:00:00'), { duration: '30m' }, CN))).to.equal(iso(sh('2026-03-02T10:30:00')));
      expect(iso(resolveWait(sh('2026-03-02T10:00:00'), { duration: '2h' }, CN))).to.equal(iso(sh('2026-03-02T12:00:00')));
    });

    it('adds days and weeks at the same local time', () => {
      expect(iso(resolveWait(sh('2026-03-02T10:15:30'), { duration: '3d' }, CN))).to.equal(iso(sh('2026-03-05T10:15:30')));
      expect(iso(resolveWait(sh('2026-03-02T10:00:00'), { duration: '2w' }, CN))).to.equal(iso(sh('2026-03-16T10:00:00')));
    });

    it('waits for a time of day later than the end of the duration on the same day', () => {
      expect(iso(resolveWait(sh('2026-03-02T08:00:00'), { duration: '1h', until: '10:00' }, CN))).to.equal(iso(sh('2026-03-02T10:00:00')));
    });

    it('waits for the next day when the time of day is earlier than the end of the duration', () => {
      expect(iso(resolveWait(sh('2026-03-02T08:00:00'), { duration: '3h', until: '10:00' }, CN))).to.equal(iso(sh('2026-03-03T10:00:00')));
    });

    it('keeps a duration that ends exactly at the time of day', () => {
      expect(iso(resolveWait(sh('2026-03-02T08:00:00'), { duration: '2h', until: '10:00' }, CN))).to.equal(iso(sh('2026-03-02T10:00:00')));
      // One second past it is the next day's.
      expect(iso(resolveWait(sh('2026-03-02T08:00:01'), { duration: '2h', until: '10:00' }, CN))).to.equal(iso(sh('2026-03-03T10:00:00')));
    });

    it('waits for a time of day alone, overnight', () => {
      expect(iso(resolveWait(sh('2026-03-02T23:30:00'), { until: '09:00' }, CN))).to.equal(iso(sh('2026-03-03T09:00:00')));
    });

    it('moves a wait that ends on a Saturday to the same time on Monday', () => {
      expect(iso(resolveWait(sh('2026-03-06T16:00:00'), { duration: '1d', workingDay: true }, CN))).to.equal(iso(sh('2026-03-09T16:00:00')));
    });

    it('moves a wait that ends in the 国庆 holiday to the first working day after it', () => {
      expect(iso(resolveWait(sh('2026-09-30T10:00:00'), { duration: '1d', workingDay: true }, CN))).to.equal(iso(sh('2026-10-08T10:00:00')));
    });

    it('leaves a wait that ends on a working day where it is', () => {
      expect(iso(resolveWait(sh('2026-03-02T10:00:00'), { duration: '1d', workingDay: true }, CN))).to.equal(iso(sh('2026-03-03T10:00:00')));
      expect(iso(resolveWait(sh('2026-03-02T10:00:00'), { workingDay: true }, CN))).to.equal(iso(sh('2026-03-02T10:00:00')));
    });

    it('stops on a make-up Sunday when it asks for a working day', () => {
      expect(iso(resolveWait(sh('2026-09-19T10:00:00'), { workingDay: true }, CN))).to.equal(iso(sh('2026-09-20T10:00:00')));
    });

    it('applies the time of day before the working day: Friday evening until 09:00 is Monday 09:00', () => {
      expect(iso(resolveWait(sh('2026-03-06T18:00:00'), { until: '09:00', workingDay: true }, CN))).to.equal(iso(sh('2026-03-09T09:00:00')));
    });

    it('uses the 23-hour day across the spring DST change', () => {
      const from = new Date('2026-03-07T17:00:00Z'); // Saturday 12:00 EST
      const end = resolveWait(from, { duration: '1d' }, NONE, NY);
      expect(iso(end)).to.equal('2026-03-08T16:00:00.000Z'); // Sunday 12:00 EDT
      expect((end.getTime() - from.getTime()) / 3_600_000).to.equal(23);
    });

    it('uses the 25-hour day across the autumn DST change', () => {
      const from = new Date('2026-10-31T16:00:00Z'); // Saturday 12:00 EDT
      const end = resolveWait(from, { duration: '1d' }, NONE, NY);
      expect(iso(end)).to.equal('2026-11-01T17:00:00.000Z'); // Sunday 12:00 EST
      expect((end.getTime() - from.getTime()) / 3_600_000).to.equal(25);
    });

    it('counts 24 hours as elapsed time across the spring DST change', () => {
      const end = resolveWait(new Date('2026-03-07T17:00:00Z'), { duration: '24h' }, NONE, NY);
      expect(iso(end)).to.equal('2026-03-08T17:00:00.000Z'); // 13:00 EDT
    });

    it('finds a time of day on the DST change day with that day’s offset', () => {
      const end = resolveWait(new Date('2026-03-08T05:00:00Z'), { until: '09:00' }, NONE, NY); // midnight EST
      expect(iso(end)).to.equal('2026-03-08T13:00:00.000Z'); // 09:00 EDT
    });

    it('keeps the local time when a working day lies across a DST change', () => {
      const from = new Date('2026-03-06T15:00:00Z'); // Friday 10:00 EST
      const end = resolveWait(from, { duration: '1d', workingDay: true }, NONE, NY);
      expect(iso(end)).to.equal('2026-03-09T14:00:00.000Z'); // Monday 10:00 EDT
    });

    it('does not change the instant it is given', () => {
      const from = sh('2026-03-02T10:00:00');
      resolveWait(from, { duration: '1d', until: '09:00', workingDay: true }, CN);
      expect(iso(from)).to.equal(iso(sh('2026-03-02T10:00:00')));
    });
  });

  describe('quiet hours', () => {
    it('moves a wait that ends at 22:30 to 08:00 the next morning', () => {
      expect(iso(outOfQuietHours(sh('2026-03-02T22:30:00'), QUIET))).to.equal(iso(sh('2026-03-03T08:00:00')));
    });

    it('moves an early-morning moment to 08:00 the same morning', () => {
      expect(iso(outOfQuietHours(sh('2026-03-03T06:00:00'), QUIET))).to.equal(iso(sh('2026-03-03T08:00:00')));
      expect(iso(outOfQuietHours(sh('2026-03-03T00:00:00'), QUIET))).to.equal(iso(sh('2026-03-03T08:00:00')));
    });

    it('leaves a daytime moment alone', () => {
      const noon = sh('2026-03-02T12:00:00');
      expect(inQuietHours(noon, QUIET)).to.equal(false);
      expect(iso(outOfQuietHours(noon, QUIET))).to.equal(iso(noon));
    });

    it('counts the start of the quiet period as quiet and its end as not', () => {
      expect(inQuietHours(sh('2026-03-02T21:00:00'), QUIET)).to.equal(true);
      expect(iso(outOfQuietHours(sh('2026-03-02T21:00:00'), QUIET))).to.equal(iso(sh('2026-03-03T08:00:00')));
      expect(inQuietHours(sh('2026-03-03T08:00:00'), QUIET)).to.equal(false);
      expect(iso(outOfQuietHours(sh('2026-03-03T08:00:00'), QUIET))).to.equal(iso(sh('2026-03-03T08:00:00')));
      expect(inQuietHours(sh('2026-03-02T20:59:59.999'), QUIET)).to.equal(false);
      expect(inQuietHours(sh('2026-03-03T07:59:59.999'), QUIET)).to.equal(true);
    });

    it('handles a quiet period that does not cross midnight', () => {
      const lunch: QuietHours = { start: '12:00', end: '14:00', timezone: SH };
      expect(iso(outOfQuietHours(sh('2026-03-02T13:00:00'), lunch))).to.equal(iso(sh('2026-03-02T14:00:00')));
      expect(iso(outOfQuietHours(sh('2026-03-02T12:00:00'), lunch))).to.equal(iso(sh('2026-03-02T14:00:00')));
      expect(inQuietHours(sh('2026-03-02T14:00:00'), lunch)).to.equal(false);
      expect(inQuietHours(sh('2026-03-02T11:59:00'), lunch)).to.equal(false);
      expect(inQuietHours(sh('2026-03-02T23:00:00'), lunch)).to.equal(false);
    });

    it('has no quiet hours when start equals end', () => {
      const none: QuietHours = { start: '21:00', end: '21:00', timezone: SH };
      for (const t of ['2026-03-02T21:00:00', '2026-03-02T03:00:00', '2026-03-02T12:00:00']) {
        expect(inQuietHours(sh(t), none), t).to.equal(false);
        expect(iso(outOfQuietHours(sh(t), none))).to.equal(iso(sh(t)));
      }
    });

    it('reads quiet hours in their own zone, not the server’s or UTC', () => {
      const at = new Date('2026-03-02T14:00:00Z'); // 22:00 in Shanghai, 14:00 in UTC
      expect(inQuietHours(at, QUIET)).to.equal(true);
      expect(inQuietHours(at, { ...QUIET, timezone: 'UTC' })).to.equal(false);
    });

    it('ends a New York quiet night at 08:00 EDT after the spring change, nine hours after 22:00 EST', () => {
      const at = new Date('2026-03-08T03:00:00Z'); // Saturday 22:00 EST
      const end = outOfQuietHours(at, { ...QUIET, timezone: NY });
      expect(iso(end)).to.equal('2026-03-08T12:00:00.000Z');
      expect((end.getTime() - at.getTime()) / 3_600_000).to.equal(9);
    });

    it('rejects a malformed quiet period', () => {
      expect(() => inQuietHours(sh('2026-03-02T12:00:00'), { ...QUIET, start: '21' })).to.throw(RangeError);
    });
  });

  describe('the sop.workingCalendar setting', () => {
    const schema = SETTINGS['sop.workingCalendar'].schema;

    it('ships the 2026 arrangement as a valid default', () => {
      expect(schema.parse(SETTINGS['sop.workingCalendar'].default)).to.deep.equal(CN);
      // 33 days of 2026 holidays (3+9+3+5+3+3+7) and 2027's 元旦; six make-up workdays, all on weekends.
      expect(CN.holidays.filter((d) => d.startsWith('2026-'))).to.have.length(33);
      expect(CN.workdays.map((d) => isWorkingDay(d, NONE))).to.deep.equal([false, false, false, false, false, false]);
    });

    it('rejects impossible dates and a date that is both a holiday and a workday', () => {
      expect(schema.safeParse({ holidays: ['2026-02-30'], workdays: [] }).success).to.equal(false);
      expect(schema.safeParse({ holidays: ['2026-13-01'], workdays: [] }).success).to.equal(false);
      expect(schema.safeParse({ holidays: ['2026/10/01'], workdays: [] }).success).to.equal(false);
      expect(schema.safeParse({ holidays: ['2026-10-10'], workdays: ['2026-10-10'] }).success).to.equal(false);
      expect(schema.safeParse({ holidays: ['2026-10-01'], workdays: ['2026-10-10'] }).success).to.equal(true);
    });
  });
});
