import { expect } from 'chai';
import { FieldCipher, generateKeyHex, mask } from './crypto.js';

const hmac = Buffer.from(generateKeyHex(), 'hex');

describe('field encryption', () => {
  const cipher = new FieldCipher([{ id: 'k1', key: Buffer.from(generateKeyHex(), 'hex') }], hmac);

  it('round-trips a value and never stores the plaintext', () => {
    const stored = cipher.encrypt('13812345678');
    expect(stored).not.to.contain('13812345678');
    expect(stored.split('.')[0]).to.equal('k1');
    expect(cipher.decrypt(stored)).to.equal('13812345678');
  });

  it('uses a fresh IV so equal values encrypt differently', () => {
    expect(cipher.encrypt('张三')).not.to.equal(cipher.encrypt('张三'));
  });

  it('rejects a tampered ciphertext', () => {
    const [id, iv, tag, data] = cipher.encrypt('110101199003074514').split('.');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => cipher.decrypt([id, iv, tag, flipped.toString('base64url')].join('.'))).to.throw();
  });

  it('decrypts old values after a key rotation and writes new ones with the new key', () => {
    const oldKey = { id: 'k1', key: Buffer.from(generateKeyHex(), 'hex') };
    const before = new FieldCipher([oldKey], hmac).encrypt('13900001111');
    const rotated = new FieldCipher([{ id: 'k2', key: Buffer.from(generateKeyHex(), 'hex') }, oldKey], hmac);
    expect(rotated.decrypt(before)).to.equal('13900001111');
    expect(FieldCipher.keyIdOf(rotated.encrypt('x'))).to.equal('k2');
  });

  it('refuses a value written under a key it does not hold', () => {
    const other = new FieldCipher([{ id: 'k9', key: Buffer.from(generateKeyHex(), 'hex') }], hmac);
    expect(() => cipher.decrypt(other.encrypt('x'))).to.throw(/unknown key id k9/);
  });

  it('hashes mobiles the same whatever their formatting, and apart from ID numbers', () => {
    const a = cipher.lookupHash('mobile', '138 1234 5678');
    expect(cipher.lookupHash('mobile', '+8613812345678')).to.equal(a);
    expect(cipher.lookupHash('mobile', '138-1234-5678')).to.equal(a);
    expect(cipher.lookupHash('id_number', '13812345678')).not.to.equal(a);
    expect(cipher.lookupHash('id_number', '11010119900307451x')).to.equal(cipher.lookupHash('id_number', '11010119900307451X'));
  });

  it('gives a different hash under a different HMAC key', () => {
    const other = new FieldCipher([{ id: 'k1', key: Buffer.from(generateKeyHex(), 'hex') }], Buffer.from(generateKeyHex(), 'hex'));
    expect(other.lookupHash('mobile', '13812345678')).not.to.equal(cipher.lookupHash('mobile', '13812345678'));
  });
});

describe('masking', () => {
  it('masks a mobile as 138****1234', () => {
    expect(mask.mobile('13812341234')).to.equal('138****1234');
  });
  it('masks an ID number keeping the region and the last four', () => {
    expect(mask.idNumber('110101199003074514')).to.equal('110101********4514');
  });
  it('masks a name after its first character', () => {
    expect(mask.name('欧阳娜娜')).to.equal('欧***');
  });
  it('masks a card number keeping the first and last four', () => {
    expect(mask.cardNumber('6222 0212 3456 7890 123')).to.equal('6222 **** **** 0123');
  });
});
