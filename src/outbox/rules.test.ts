import { expect } from 'chai';
import { quietHoursEnd, quotaPeriod } from './rules.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

describe('quiet hours', () => {
  const night = { start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' };

  it('ends a late-evening moment at 08:00 the next local morning', () => {
    expect(iso(quietHoursEnd(at('2026-11-25T22:30:00+08:00'), night))).to.equal(iso(at('2026-11-26T08:00:00+08:00')));
  });

  it('ends an early-morning moment at 08:00 the same morning, and counts 21:00 in and 08:00 out', () => {
    expect(iso(quietHoursEnd(at('2026-11-26T03:15:42+08:00'), night))).to.equal(iso(at('2026-11-26T08:00:00+08:00')));
    expect(iso(quietHoursEnd(at('2026-11-25T21:00:00+08:00'), night))).to.equal(iso(at('2026-11-26T08:00:00+08:00')));
    expect(quietHoursEnd(at('2026-11-26T08:00:00+08:00'), night)).to.equal(undefined);
    expect(quietHoursEnd(at('2026-11-25T20:59:59+08:00'), night)).to.equal(undefined);
  });

  it('handles a period within one day, and none when start equals end', () => {
    const lunch = { start: '12:00', end: '13:30', timezone: 'Asia/Shanghai' };
    expect(iso(quietHoursEnd(at('2026-11-25T12:10:00+08:00'), lunch))).to.equal(iso(at('2026-11-25T13:30:00+08:00')));
    expect(quietHoursEnd(at('2026-11-25T14:00:00+08:00'), lunch)).to.equal(undefined);
    expect(quietHoursEnd(at('2026-11-25T23:00:00+08:00'), { start: '00:00', end: '00:00', timezone: 'Asia/Shanghai' })).to.equal(undefined);
  });

  it('reads the wall clock of the configured zone, across a daylight-saving change', () => {
    // New York leaves DST on 2026-11-01 at 02:00: the night is 25 hours long, quiet hours still end at 08:00 local.
    const ny = { start: '21:00', end: '08:00', timezone: 'America/New_York' };
    expect(iso(quietHoursEnd(at('2026-10-31T22:00:00-04:00'), ny))).to.equal(iso(at('2026-11-01T08:00:00-05:00')));
  });
});

describe('the receiving-quota period', () => {
  it('is the Shanghai calendar day, whatever the server\'s zone', () => {
    const p = quotaPeriod(at('2026-11-25T16:30:00Z'), 'day'); // 00:30 on the 26th in Shanghai
    expect(iso(p.start)).to.equal(iso(at('2026-11-26T00:00:00+08:00')));
    expect(iso(p.next)).to.equal(iso(at('2026-11-27T00:00:00+08:00')));
  });

  it('runs from Monday to Sunday for a week', () => {
    const sunday = quotaPeriod(at('2026-11-29T23:59:00+08:00'), 'week');
    expect(iso(sunday.start)).to.equal(iso(at('2026-11-23T00:00:00+08:00')));
    expect(iso(sunday.next)).to.equal(iso(at('2026-11-30T00:00:00+08:00')));
    expect(iso(quotaPeriod(at('2026-11-30T00:00:00+08:00'), 'week').start)).to.equal(iso(at('2026-11-30T00:00:00+08:00')));
  });

  it('is the calendar month, rolling over at Shanghai midnight on the 1st', () => {
    const p = quotaPeriod(at('2026-12-31T16:00:00Z'), 'month'); // 00:00 on 1 January in Shanghai
    expect(iso(p.start)).to.equal(iso(at('2027-01-01T00:00:00+08:00')));
    expect(iso(p.next)).to.equal(iso(at('2027-02-01T00:00:00+08:00')));
    expect(iso(quotaPeriod(at('2026-12-31T15:59:59Z'), 'month').start)).to.equal(iso(at('2026-12-01T00:00:00+08:00')));
  });
});
