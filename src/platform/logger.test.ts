import { expect } from 'chai';
import { LogCapture } from '../../test/harness.js';
import { createLogger, redactString } from './logger.js';

describe('log redaction', () => {
  it('masks mobiles, ID numbers and card numbers inside free text', () => {
    const out = redactString('客户 13812345678 身份证 110101199003074514 卡号 6222021234567890123');
    expect(out).not.to.match(/13812345678|110101199003074514|6222021234567890123/);
    expect(out).to.contain('138****5678');
  });

  it('keeps secrets, tokens, mobiles and ID numbers out of the log output', () => {
    const capture = new LogCapture();
    const logger = createLogger({ level: 'info', destination: capture });
    logger.info(
      {
        password: 'hunter2-secret',
        access_token: 'Nq3xQ0tPZk7bWvR2mYs8',
        corpSecret: 'corp-secret-value',
        headers: { authorization: 'Bearer abc.def', cookie: 'scrm_session=xyz' },
        customer: { mobile: '13912345678', idNumber: '110101199003074514', cardNo: '6222021234567890123', name: '张三' },
        note: 'call 13700001111 back',
      },
      'customer 15012345678 logged in',
    );
    logger.error({ err: new Error('lookup failed for 18612345678') }, 'failed');
    const text = capture.text();
    for (const secret of ['hunter2-secret', 'Nq3xQ0tPZk7bWvR2mYs8', 'corp-secret-value', 'Bearer abc.def', 'scrm_session=xyz', '13912345678', '110101199003074514', '6222021234567890123', '13700001111', '15012345678', '18612345678']) {
      expect(text).not.to.contain(secret);
    }
    expect(text).to.contain('张三');
    expect(text).to.contain('[redacted]');
    expect(capture.lines[0]!.msg).to.equal('customer 150****5678 logged in');
  });
});
