import { expect } from 'chai';
import { decrypt } from '@wecom/crypto';
import { CallbackRejected, buildXml, jsApiSignature, openEnvelope, parseXml, sealEnvelope, signatureOf, str } from './crypto.js';

// WeCom's public sample (REFERENCE §1, SHAPES §13.6).
const SAMPLE = { corpId: 'wx5823bf96d3bd56c7', token: 'QDG6eK', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };

describe('WeCom callback crypto', () => {
  it('verifies and decrypts the official URL-check sample', () => {
    const echostr = 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==';
    const plain = openEnvelope(SAMPLE, { msg_signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3', timestamp: '1409659589', nonce: '263014780' }, echostr);
    expect(plain).to.equal('1616140317555161061');
  });

  it('verifies and decrypts the official message sample', () => {
    const encrypted =
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==';
    const plain = openEnvelope(SAMPLE, { msg_signature: '477715d11cdb4164915debcba66cb864d751f3e6', timestamp: '1409659813', nonce: '1372623149' }, encrypted);
    const message = parseXml(plain);
    expect(str(message.FromUserName)).to.equal('mycreate');
    expect(str(message.Content)).to.equal('hello');
    expect(str(message.MsgId)).to.equal('4561255354251345929');
  });

  it('rejects a forged signature', () => {
    const sealed = sealEnvelope(SAMPLE, '<xml><a>1</a></xml>');
    const forged = { ...sealed.query, msg_signature: 'f'.repeat(40) };
    expect(() => openEnvelope(SAMPLE, forged, sealed.encrypted)).to.throw(CallbackRejected, 'bad_signature');
  });

  it('rejects a message sealed with another key even though decryption does not throw', () => {
    const other = { ...SAMPLE, aesKey: 'a'.repeat(43) };
    const sealed = sealEnvelope(other, '<xml><a>1</a></xml>');
    // Same token, so the signature is valid: only the receive id check can catch it.
    expect(() => openEnvelope(SAMPLE, sealed.query, sealed.encrypted)).to.throw(CallbackRejected, /bad_key|wrong_receiver/);
  });

  it('rejects a message addressed to another corp', () => {
    const sealed = sealEnvelope({ ...SAMPLE, corpId: 'wwsomeoneelse' }, '<xml/>');
    expect(() => openEnvelope(SAMPLE, sealed.query, sealed.encrypted)).to.throw(CallbackRejected, 'wrong_receiver');
  });

  it('round-trips what it seals', () => {
    const sealed = sealEnvelope(SAMPLE, 'hello 世界', { timestamp: '1716201000', nonce: '42' });
    expect(sealed.query.msg_signature).to.equal(signatureOf(SAMPLE.token, '1716201000', '42', sealed.encrypted));
    expect(decrypt(SAMPLE.aesKey, sealed.encrypted).message).to.equal('hello 世界');
    expect(openEnvelope(SAMPLE, sealed.query, sealed.encrypted)).to.equal('hello 世界');
  });

  it('builds and parses event XML, keeping long ids as strings and lists as arrays', () => {
    const xml = buildXml({ ToUserName: 'ww1', CreateTime: 1716201000, Event: 'change_external_chat', MemChangeList: ['wm1', 'lina'], MsgId: '7365012345678901234' });
    const parsed = parseXml(xml);
    expect(parsed.CreateTime).to.equal('1716201000');
    expect(parsed.MsgId).to.equal('7365012345678901234');
    expect((parsed.MemChangeList as { Item: string[] }).Item).to.deep.equal(['wm1', 'lina']);
  });

  it('refuses malformed XML', () => {
    expect(() => parseXml('<xml><a>')).to.throw(CallbackRejected, 'malformed');
    expect(() => parseXml('not xml')).to.throw(CallbackRejected, 'malformed');
  });
});

describe('JS-SDK signature', () => {
  it('matches the documented example', () => {
    const ticket = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
    expect(jsApiSignature(ticket, 'Wm3WZYTPz0wzccnW', 1414587457, 'http://mp.weixin.qq.com?params=value')).to.equal('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
    expect(jsApiSignature(ticket, 'Wm3WZYTPz0wzccnW', 1414587457, 'http://mp.weixin.qq.com?params=value#frag')).to.equal('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
  });
});
