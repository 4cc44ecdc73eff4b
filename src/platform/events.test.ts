import { expect } from 'chai';
import { EventBus, EVENTS, causeLabel, type DomainEvent } from './events.js';
import { createLogger } from './logger.js';
import { LogCapture } from '../../test/harness.js';

describe('domain events', () => {
  it('deliver the payload and what caused it to every subscriber', async () => {
    const bus = new EventBus(createLogger({ level: 'silent' }));
    const seen: DomainEvent<'contact.added'>[] = [];
    bus.on(EVENTS.contactAdded, (e) => void seen.push(e));
    bus.on(EVENTS.contactAdded, (e) => void seen.push(e));
    bus.publish(EVENTS.contactAdded, { corpId: 'ww1', userid: 'ZhangWei', externalUserid: 'wm1', state: 'card-ZhangWei' }, { type: 'customer', id: 'wm1' });
    await bus.settled();
    expect(seen).to.have.length(2);
    expect(seen[0]!.cause).to.deep.equal({ type: 'customer', id: 'wm1' });
    expect(seen[0]!.payload.state).to.equal('card-ZhangWei');
  });

  it('log a failing handler without stopping the others', async () => {
    const logs = new LogCapture();
    const bus = new EventBus(createLogger({ level: 'info', destination: logs }));
    let reached = false;
    bus.on(EVENTS.tagsChanged, () => {
      throw new Error('handler broke');
    });
    bus.on(EVENTS.tagsChanged, () => void (reached = true));
    bus.publish(EVENTS.tagsChanged, { corpId: 'ww1', added: ['意向:信用卡'], removed: [] }, { type: 'sop', id: 'tmpl-7' });
    await bus.settled();
    expect(reached).to.equal(true);
    const line = logs.lines.find((l) => l.msg === 'event handler failed')!;
    expect(line.event).to.equal('tags.changed');
    expect(line.cause).to.deep.equal({ type: 'sop', id: 'tmpl-7' });
  });

  it('stop delivering after unsubscribe', async () => {
    const bus = new EventBus(createLogger({ level: 'silent' }));
    let count = 0;
    const off = bus.on(EVENTS.settingChanged, () => void count++);
    off();
    bus.publish(EVENTS.settingChanged, { key: 'x', version: 1 }, { type: 'system' });
    await bus.settled();
    expect(count).to.equal(0);
  });

  it('label causes as type:id', () => {
    expect(causeLabel({ type: 'sop', id: '42' })).to.equal('sop:42');
    expect(causeLabel({ type: 'system' })).to.equal('system');
  });
});
