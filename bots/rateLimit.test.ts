import { expect } from 'chai';
import { SendLimiter, SendLimiterClosed, TokenBucket } from './rateLimit.js';

/** A clock the tests step by hand; `sleep` records each wait and moves the clock past it. */
function fakeClock() {
  let t = 1_000_000;
  const waits: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
  };
}

describe('bot send limits', () => {
  it('lets a burst through at once, then hands out one token per refill interval, in the order reserved', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(3, 1 / 1000, clock.now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).to.deep.equal([0, 0, 0]);
    expect([bucket.reserve(), bucket.reserve()]).to.deep.equal([1000, 2000]);
    clock.advance(5000);
    expect(bucket.reserve(), 'the queue drained and the bucket refilled').to.equal(0);
  });

  it('spaces one conversation’s sends by its interval while another conversation goes at once', async () => {
    const clock = fakeClock();
    const limiter = new SendLimiter({ perMinute: 6000, burst: 100, conversationIntervalMs: 2000 }, clock);
    await limiter.acquire('room-a');
    await limiter.acquire('room-a');
    await limiter.acquire('room-b');
    await limiter.acquire('room-a');
    expect(clock.waits).to.deep.equal([2000, 2000]);
  });

  it('holds every conversation to the global rate', async () => {
    const clock = fakeClock();
    const limiter = new SendLimiter({ perMinute: 20, burst: 2, conversationIntervalMs: 0 }, clock);
    for (const c of ['a', 'b', 'c', 'd']) await limiter.acquire(c);
    expect(clock.waits, '20 a minute: one every 3 s once the burst of 2 is spent').to.deep.equal([3000, 3000]);
  });

  it('refuses to hand out slots once closed, so queued answers stay pending in the outbox', async () => {
    const limiter = new SendLimiter({ perMinute: 1, burst: 1, conversationIntervalMs: 0 });
    await limiter.acquire('a');
    const waiting = limiter.acquire('b');
    limiter.close();
    const error = await waiting.then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(SendLimiterClosed);
  });
});
