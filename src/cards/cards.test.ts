import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { io as connect, type Socket } from 'socket.io-client';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { settled, until } from '../../test/wecom.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { createLogger } from '../platform/logger.js';
import { AppError } from '../platform/errors.js';
import {
  ApprovedProducts, loadThemes, parseTheme, PRODUCT_STATEMENTS, productPage, publicCard, retireIdleShareWays, shareState, type CardDeps,
} from './index.js';
import catalogue from '../../data/bank/products.json' with { type: 'json' };

const issuesOf = (fn: () => unknown): { path: string; message: string }[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error.details.issues ?? [];
    throw error;
  }
  throw new Error('expected an AppError');
};

describe('card themes', () => {
  it('loads the shipped themes with exactly one default', async () => {
    const library = await loadThemes('templates/cards');
    expect(library.themes.map((t) => t.key)).to.deep.equal(['classic', 'jade', 'ink']);
    expect(library.defaultKey).to.equal('classic');
    expect(library.get('jade')!.layout.products).to.equal('grid');
  });

  it('names the file, line, column and field of every problem in a theme', () => {
    const source = ['key: Bad Key', 'name: 测试', 'colors:', '  primary: "#12345"', '  onPrimary: "#ffffff"', '  background: "#ffffff"', '  surface: "#ffffff"',
      '  text: "#000000"', '  muted: "#777777"', '  accent: "#000000"', '  sparkle: "#ffffff"', 'layout:', '  header: banner', '  avatar: circle', '  products: table'].join('\n');
    const issues = issuesOf(() => parseTheme(source, 'templates/cards/bad.yaml'));
    expect(issues).to.deep.include({ path: 'templates/cards/bad.yaml:1:1 key', message: 'lowercase letters, digits and -, 2 to 30 characters, starting with a letter' });
    expect(issues).to.deep.include({ path: 'templates/cards/bad.yaml:4:3 colors.primary', message: 'a colour as #rrggbb' });
    expect(issues).to.deep.include({ path: 'templates/cards/bad.yaml:11:3 colors.sparkle', message: 'unknown field' });
    expect(issues.find((i) => i.path === 'templates/cards/bad.yaml:15:3 layout.products')?.message).to.match(/banner|list/);
  });

  it('refuses colours a customer could not read, and a syntax error, with where they are', () => {
    const unreadable = ['key: pale', 'name: 浅色', 'colors:', '  primary: "#ffff00"', '  onPrimary: "#ffffff"', '  background: "#ffffff"', '  surface: "#ffffff"',
      '  text: "#cccccc"', '  muted: "#555555"', '  accent: "#000000"', 'layout: { header: banner, avatar: circle, products: list }'].join('\n');
    const issues = issuesOf(() => parseTheme(unreadable, 'pale.yaml'));
    expect(issues.map((i) => i.path)).to.deep.equal(['pale.yaml:8:3 colors.text', 'pale.yaml:5:3 colors.onPrimary']);
    expect(issues[0]!.message).to.match(/^contrast with colors\.surface is 1\.\d\d:1; at least 4\.5:1/);
    expect(issuesOf(() => parseTheme('key: [unclosed', 'broken.yaml'))[0]!.path).to.match(/^broken\.yaml:\d+:\d+$/);
  });

  it('refuses a directory with two defaults or a key used twice', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'card-themes-'));
    const theme = (key: string, extra = '') => `key: ${key}\nname: ${key}\n${extra}colors: { primary: "#1d4ed8", onPrimary: "#ffffff", background: "#eeeeee", surface: "#ffffff", text: "#111111", muted: "#444444", accent: "#b45309" }\nlayout: { header: banner, avatar: circle, products: list }\n`;
    writeFileSync(path.join(dir, 'a.yaml'), theme('one', 'default: true\n'));
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ key: 'one', name: '二', default: true, colors: { primary: '#1d4ed8', onPrimary: '#ffffff', background: '#eeeeee', surface: '#ffffff', text: '#111111', muted: '#444444', accent: '#b45309' }, layout: { header: 'centered', avatar: 'rounded', products: 'grid' } }));
    const error = await loadThemes(dir).catch((e: AppError) => e);
    expect((error as AppError).details.issues).to.deep.equal([{ path: `${path.join(dir, 'b.json')} key`, message: `key one is already used by ${path.join(dir, 'a.yaml')}` }]);
    writeFileSync(path.join(dir, 'b.json'), theme('two', 'default: true\n'));
    const twoDefaults = await loadThemes(dir).catch((e: AppError) => e);
    expect((twoDefaults as AppError).details.issues![0]!.message).to.match(/^only one theme may be the default/);
  });
});

describe('product pages', () => {
  it('has customer statements for every catalogue product, written for customers', () => {
    for (const p of catalogue as { id: string }[]) {
      const statements = PRODUCT_STATEMENTS[p.id];
      expect(statements, p.id).to.be.an('array').that.is.not.empty;
      for (const s of statements!) expect(s, p.id).to.not.match(/^(须|不得)|须附|仅向/);
    }
    expect(Object.keys(PRODUCT_STATEMENTS).sort()).to.deep.equal((catalogue as { id: string }[]).map((p) => p.id).sort());
  });
});

interface Received {
  event: string;
  data: Record<string, unknown>;
}

/** A socket.io client with the member's session; resolves at `ready`. */
function live(url: string, cookie: string): Promise<{ socket: Socket; received: Received[] }> {
  return new Promise((resolve, reject) => {
    const socket = connect(url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false });
    const received: Received[] = [];
    socket.onAny((event: string, data: Record<string, unknown>) => void received.push({ event, data }));
    socket.once('ready', () => resolve({ socket, received }));
    socket.once('connect_error', reject);
  });
}

describe('digital business cards', function () {
  this.timeout(120_000);
  let app: TestApp;
  let owner: { id: string; username: string; userid: string; name: string };
  let follower: { externalUserid: string; name: string };
  let ipCounter = 0;

  /** A public visitor: own cookie jar (visitor id) and own client address, so the public limit is not shared. */
  const visitor = () => {
    const client = app.client();
    const ip = `198.51.100.${++ipCounter}`;
    let vid = '';
    const call = async (method: string, url: string, body?: unknown) => {
      const r = await client.request(method, url, body, { 'x-forwarded-for': ip, ...(vid ? { cookie: `scrm_vid=${vid}` } : {}) });
      const set = r.headers.getSetCookie().find((c) => c.startsWith('scrm_vid='));
      if (set) vid = set.split(';')[0]!.slice('scrm_vid='.length);
      return r;
    };
    return { get: (url: string) => call('GET', url), post: (url: string, body: unknown = {}) => call('POST', url, body), vid: () => vid };
  };

  const staffClient = async (username: string): Promise<TestClient> => app.client().login(username);

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '60', TRUST_PROXY: 'true', CARDS_PUBLIC_PER_MINUTE: '40' });
    const db = app.database.db;
    // The account manager with the most customers, and one of them.
    const top = await db
      .selectFrom('follow_relations as fr')
      .innerJoin('staff as s', (j) => j.onRef('s.wecom_userid', '=', 'fr.userid').onRef('s.corp_id', '=', 'fr.corp_id'))
      .select(['s.id', 's.username', 's.wecom_userid', 's.display_name', db.fn.countAll<number>().as('n')])
      .where('fr.deleted_at', 'is', null)
      .groupBy(['s.id', 's.username', 's.wecom_userid', 's.display_name'])
      .orderBy('n', 'desc')
      .executeTakeFirstOrThrow();
    owner = { id: top.id, username: top.username, userid: top.wecom_userid!, name: top.display_name };
    const f = await db
      .selectFrom('follow_relations as fr')
      .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
      .select(['ec.external_userid', 'ec.name'])
      .where('fr.userid', '=', owner.userid)
      .where('fr.deleted_at', 'is', null)
      .orderBy('ec.external_userid')
      .executeTakeFirstOrThrow();
    follower = { externalUserid: f.external_userid, name: f.name };
  });
  after(() => app?.close());

  describe('editing', () => {
    it("lets a member edit their own card, checked by the compliance gate and audited", async () => {
      const me = await staffClient(owner.username);
      const card = await me.get('/api/v1/cards/me');
      expect(card.status).to.equal(200);
      expect(card.body.profile.theme).to.equal('classic');
      expect(card.body.profile.version).to.equal(0);
      const products = (await me.get('/api/v1/cards/products')).body.items.map((p: { id: string }) => p.id);
      expect(products).to.include.members(['p-dep-lcd-3y', 'p-wm-fi-r2-180']);
      const material = (await me.get('/api/v1/materials?kind=text')).body.items[0];
      const saved = await me.request('PUT', '/api/v1/cards/me', {
        title: '高级理财经理', qualifications: ['AFP金融理财师', '基金从业资格'], intro: '从业八年，擅长家庭资产配置与养老规划，欢迎随时咨询。', theme: 'jade',
        featuredProductIds: ['p-dep-lcd-3y', 'p-wm-fi-r2-180'], featuredMaterialIds: [material.id],
      });
      expect(saved.status, JSON.stringify(saved.body)).to.equal(200);
      expect(saved.body.card.profile).to.deep.include({ title: '高级理财经理', theme: 'jade', version: 1, featuredProductIds: ['p-dep-lcd-3y', 'p-wm-fi-r2-180'] });
      const audit = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'card.update').where('target_id', '=', owner.id).executeTakeFirstOrThrow();
      expect(audit.actor_id).to.equal(owner.id);
      expect(audit.outcome).to.equal('success');
      expect((audit.detail as { changed: string[] }).changed).to.include.members(['title', 'intro', 'theme', 'featuredProductIds']);
      const checks = await app.database.db.selectFrom('audit_log').select('detail').where('action', '=', 'compliance.check').where('target_id', '=', owner.id).execute();
      expect(checks.map((c) => (c.detail as { source: string }).source)).to.include('card');
    });

    it('refuses a blocked phrase, an unknown theme and a product without an approved card, naming each field', async () => {
      const me = await staffClient(owner.username);
      const blocked = await me.request('PUT', '/api/v1/cards/me', { intro: '我推荐的理财保本保息，稳赚不赔。' });
      expect(blocked.status).to.equal(400);
      expect(blocked.body.error.issues.map((i: { path: string }) => i.path)).to.include('body.intro');
      const denied = await app.database.db.selectFrom('audit_log').select('outcome').where('action', '=', 'card.update').where('outcome', '=', 'denied').executeTakeFirst();
      expect(denied).to.exist;
      const theme = await me.request('PUT', '/api/v1/cards/me', { theme: 'neon' });
      expect(theme.body.error.issues).to.deep.equal([{ path: 'body.theme', message: 'unknown theme; one of classic, jade, ink' }]);
      const product = await me.request('PUT', '/api/v1/cards/me', { featuredProductIds: ['p-fund-qdii-r5'] });
      expect(product.body.error.issues[0].path).to.equal('body.featuredProductIds.0');
      const shape = await me.request('PUT', '/api/v1/cards/me', { photoUrl: 'ftp://example.com/a.png', qualifications: ['x'.repeat(31)] });
      expect(shape.status).to.equal(400);
      expect(shape.body.error.issues.map((i: { path: string }) => i.path)).to.include.members(['body.photoUrl', 'body.qualifications.0']);
      expect((await me.get('/api/v1/cards/me')).body.profile.version).to.equal(1);
    });

    it("keeps a member out of a colleague's card, lets operations staff edit it, and has no card without WeCom", async () => {
      const other = await app.database.db.selectFrom('staff').select('id').where('role', '=', 'account_manager').where('id', '!=', owner.id).executeTakeFirstOrThrow();
      const me = await staffClient(owner.username);
      expect((await me.request('PUT', `/api/v1/cards/${other.id}`, { title: '客户经理' })).status).to.equal(403);
      const ops = await staffClient('ops');
      const edited = await ops.request('PUT', `/api/v1/cards/${other.id}`, { title: '财富顾问' });
      expect(edited.status).to.equal(200);
      const audit = await app.database.db.selectFrom('audit_log').select('detail').where('action', '=', 'card.update').where('target_id', '=', other.id).executeTakeFirstOrThrow();
      expect(audit.detail).to.deep.include({ onBehalfOf: other.id });
      const admin = await staffClient('admin');
      const none = await admin.get('/api/v1/cards/me');
      expect(none.status).to.equal(404);
      expect(none.body.error.message).to.contain('未开通企业微信');
    });
  });

  describe('the public card', () => {
    it('shows the card without a session, with the member code, approved products and no customer data', async () => {
      const v = visitor();
      const r = await v.get(`/api/v1/public/cards/${owner.id}`);
      expect(r.status).to.equal(200);
      expect(v.vid()).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(r.body.member).to.deep.include({ id: owner.id, name: owner.name, title: '高级理财经理', qualifications: ['AFP金融理财师', '基金从业资格'] });
      expect(r.body.theme.key).to.equal('jade');
      expect(r.body.qr.state).to.equal(`card-${owner.userid}`);
      expect(r.body.products.map((p: { id: string }) => p.id)).to.deep.equal(['p-dep-lcd-3y', 'p-wm-fi-r2-180']);
      expect(r.body.products[1].url).to.equal(`/p/p-wm-fi-r2-180?from=${owner.id}`);
      expect(r.body.disclosures).to.include('理财非存款、产品有风险、投资须谨慎');
      expect(r.body.materials).to.have.length(1);
      const text = JSON.stringify(r.body);
      expect(text).to.not.contain(follower.externalUserid);
      expect(text).to.not.contain(follower.name);
      // The member's code was made in WeCom with the card state, once.
      const ways = [...app.wecom.sandbox!.world.contactWays.values()].filter((w) => w.state === `card-${owner.userid}` && w.viaApi);
      expect(ways).to.have.length(1);
      await v.get(`/api/v1/public/cards/${owner.id}`);
      expect([...app.wecom.sandbox!.world.contactWays.values()].filter((w) => w.state === `card-${owner.userid}` && w.viaApi)).to.have.length(1);
    });

    it('serves the QR image through the product, and 404s what is not a card code', async () => {
      const v = visitor();
      const card = await v.get(`/api/v1/public/cards/${owner.id}`);
      const image = await v.get(card.body.qr.url);
      expect(image.status).to.equal(200);
      expect(image.headers.get('content-type')).to.equal('image/svg+xml');
      expect(String(image.body)).to.contain(`card-${owner.userid}`);
      const unknown = await v.get('/api/v1/public/card-qr/00000000-0000-4000-8000-000000000000');
      expect(unknown.status).to.equal(404);
      expect((await v.get('/api/v1/public/cards/not-a-uuid')).body.error.issues[0].path).to.equal('params.memberId');
    });

    it('counts views and unique visitors per day and member', async () => {
      const me = await staffClient(owner.username);
      const before = (await me.get('/api/v1/cards/stats')).body.totals;
      const a = visitor();
      const b = visitor();
      await a.get(`/api/v1/public/cards/${owner.id}`);
      await a.get(`/api/v1/public/cards/${owner.id}`);
      await b.get(`/api/v1/public/cards/${owner.id}`);
      const stats = (await me.get('/api/v1/cards/stats')).body;
      expect(stats.totals.views - before.views).to.equal(3);
      expect(stats.totals.uniqueViews - before.uniqueViews).to.equal(2);
      expect(stats.days).to.have.length(14);
      expect(stats.days.at(-1).views).to.equal(stats.totals.views);
      expect(stats.members).to.have.length(1);
      expect(stats.members[0].staffId).to.equal(owner.id);
    });

    it('limits each client address, answering 429 with Retry-After', async () => {
      const v = visitor();
      let last;
      for (let i = 0; i < 41; i++) last = await v.get(`/api/v1/public/products/p-dep-fix-1y`);
      expect(last!.status).to.equal(429);
      expect(Number(last!.headers.get('retry-after'))).to.be.within(1, 60);
    });
  });

  describe('sharing and attribution', () => {
    it('attributes a customer who scans a shared card to the card and the referrer, in the timeline, the statistics and live', async () => {
      const me = await staffClient(owner.username);
      const socket = await live(app.url, me.cookie);
      try {
        const shared = await me.post('/api/v1/cards/shares', { externalUserid: follower.externalUserid, channel: 'chat' });
        expect(shared.status, JSON.stringify(shared.body)).to.equal(201);
        expect(shared.body.url).to.match(new RegExp(`/card/${owner.id}\\?s=[A-Za-z0-9]{10}$`));
        expect(shared.body.recipient).to.deep.equal({ externalUserid: follower.externalUserid, name: follower.name });
        const token = shared.body.token as string;

        // The customer opens the link: the page shows the share's own code.
        const v = visitor();
        const page = await v.get(`/api/v1/public/cards/${owner.id}?s=${token}`);
        expect(page.body.qr.state).to.equal(shareState(token));
        expect(page.body.share).to.deep.equal({ token });
        expect(page.body.products[0].url).to.equal(`/p/p-dep-lcd-3y?from=${owner.id}&s=${token}`);
        const viewed = await until(() => socket.received.find((r) => r.event === 'card.viewed' && r.data.token === token), 10_000, 'card.viewed');
        expect(viewed.data).to.include({ unique: true, via: follower.name });

        // A friend scans it in WeChat.
        const scan = app.wecom.sandbox!.control.scanQr({ state: shareState(token), customer: { name: '林晓雨' } });
        expect(scan.userid).to.equal(owner.userid);
        await settled(app);
        const relation = await until(() => app.database.db.selectFrom('follow_relations').selectAll()
          .where('corp_id', '=', DEMO_CORP_ID).where('external_userid', '=', scan.externalUserid).where('card_added_at', 'is not', null).executeTakeFirst(), 10_000, 'the attribution');
        expect(relation).to.deep.include({ userid: owner.userid, state: shareState(token), card_staff_id: owner.id, referrer_external_userid: follower.externalUserid, referrer_staff_id: null });
        const share = await app.database.db.selectFrom('card_shares').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
        expect(relation.card_share_id).to.equal(share.id);
        expect(share.contact_way_id).to.equal(relation.contact_way_id);

        const added = await until(() => socket.received.find((r) => r.event === 'card.customer_added' && r.data.externalUserid === scan.externalUserid), 10_000, 'card.customer_added');
        expect(added.data).to.deep.include({ staffId: owner.id, name: '林晓雨', token, first: true, referrer: { type: 'customer', name: follower.name } });

        const timeline = await app.database.db.selectFrom('timeline_events').select(['external_userid', 'kind', 'summary']).where('kind', 'like', 'card_%').execute();
        const of = (who: string, kind: string) => timeline.filter((t) => t.external_userid === who && t.kind === kind);
        expect(of(scan.externalUserid, 'card_scanned')[0]!.summary).to.equal(`扫描客户经理${owner.name}的名片二维码添加了客户经理，推荐人：${follower.name}`);
        expect(of(follower.externalUserid, 'card_referral')[0]!.summary).to.equal(`推荐的新客户林**通过名片添加了客户经理${owner.name}`);
        expect(of(follower.externalUserid, 'card_shared')[0]!.summary).to.equal(`客户经理${owner.name}向客户分享了名片`);
        expect(of(follower.externalUserid, 'card_viewed')).to.have.length(1);

        const stats = (await me.get('/api/v1/cards/stats')).body.totals;
        expect(stats).to.deep.include({ scans: 1, added: 1 });
        expect(stats.shares).to.be.at.least(1);
        const referrals = (await me.get('/api/v1/cards/referrals')).body.items;
        expect(referrals[0]).to.deep.include({ externalUserid: scan.externalUserid, contactName: '林晓雨', shareToken: token });
        expect(referrals[0].referrer).to.deep.include({ type: 'customer', externalUserid: follower.externalUserid, name: follower.name });
      } finally {
        socket.socket.close();
      }
    });

    it("keeps the referrer when a visitor shares the card on, and tells the member", async () => {
      const me = await staffClient(owner.username);
      const socket = await live(app.url, me.cookie);
      try {
        const first = (await me.post('/api/v1/cards/shares', { externalUserid: follower.externalUserid, channel: 'chat' })).body.token as string;
        const v = visitor();
        await v.get(`/api/v1/public/cards/${owner.id}?s=${first}`);
        const onward = await v.post(`/api/v1/public/cards/${owner.id}/shares`, { parent: first });
        expect(onward.status).to.equal(201);
        const token = onward.body.token as string;
        expect(token).to.not.equal(first);
        const note = await until(() => socket.received.find((r) => r.event === 'card.shared' && r.data.token === token), 10_000, 'card.shared');
        expect(note.data).to.include({ by: 'visitor', parentToken: first, via: follower.name });

        const friend = visitor();
        const page = await friend.get(`/api/v1/public/cards/${owner.id}?s=${token}`);
        expect(page.body.qr.state).to.equal(shareState(token));
        const scan = app.wecom.sandbox!.control.scanQr({ state: shareState(token), customer: { name: '周可' } });
        await settled(app);
        const relation = await until(() => app.database.db.selectFrom('follow_relations').select(['referrer_external_userid', 'card_staff_id'])
          .where('external_userid', '=', scan.externalUserid).where('card_added_at', 'is not', null).executeTakeFirst(), 10_000, 'the attribution');
        expect(relation).to.deep.equal({ referrer_external_userid: follower.externalUserid, card_staff_id: owner.id });
        const bad = await friend.post(`/api/v1/public/cards/${owner.id}/shares`, { parent: 'x', channel: 'fax' });
        expect(bad.status).to.equal(400);
        expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).to.deep.equal(['body.channel', 'body.parent']);
      } finally {
        socket.socket.close();
      }
    });

    it('attributes a scan of the member code to the card without a referrer, and refuses a recipient who is not a customer of the sharer', async () => {
      const scan = app.wecom.sandbox!.control.scanQr({ state: `card-${owner.userid}`, customer: { name: '陈一鸣' } });
      await settled(app);
      const relation = await until(() => app.database.db.selectFrom('follow_relations').select(['card_staff_id', 'card_share_id', 'referrer_external_userid'])
        .where('external_userid', '=', scan.externalUserid).where('card_added_at', 'is not', null).executeTakeFirst(), 10_000, 'the attribution');
      expect(relation).to.deep.equal({ card_staff_id: owner.id, card_share_id: null, referrer_external_userid: null });
      const me = await staffClient(owner.username);
      const stranger = await me.post('/api/v1/cards/shares', { externalUserid: 'wm-not-a-customer' });
      expect(stranger.status).to.equal(400);
      expect(stranger.body.error.issues[0].path).to.equal('body.externalUserid');
    });

    it("credits a colleague who shares another member's card", async () => {
      const colleague = await app.database.db.selectFrom('staff').select(['id', 'username']).where('role', '=', 'account_manager').where('id', '!=', owner.id).orderBy('username').executeTakeFirstOrThrow();
      const them = await staffClient(colleague.username);
      const token = (await them.post('/api/v1/cards/shares', { staffId: owner.id, channel: 'link' })).body.token as string;
      await visitor().get(`/api/v1/public/cards/${owner.id}?s=${token}`);
      const scan = app.wecom.sandbox!.control.scanQr({ state: shareState(token) });
      await settled(app);
      const relation = await until(() => app.database.db.selectFrom('follow_relations').select(['referrer_staff_id', 'referrer_external_userid'])
        .where('external_userid', '=', scan.externalUserid).where('card_added_at', 'is not', null).executeTakeFirst(), 10_000, 'the attribution');
      expect(relation).to.deep.equal({ referrer_staff_id: colleague.id, referrer_external_userid: null });
    });
  });

  describe('share QR codes', () => {
    const deps = async (overrides: Partial<CardDeps> = {}): Promise<CardDeps> => ({
      db: app.database.db, gate: app.gate, gateway: app.wecom.gateway, events: app.events, logger: createLogger({ level: 'silent' }),
      themes: await loadThemes('templates/cards'), publicUrl: 'http://localhost', notifyMember: () => undefined, shareWaysMax: 10_000, shareWayIdleDays: 30, ...overrides,
    });

    it('shows the member code once the bound of live share codes is reached', async () => {
      const me = await staffClient(owner.username);
      const token = (await me.post('/api/v1/cards/shares', { channel: 'moments' })).body.token as string;
      const { live } = await app.database.db.selectFrom('card_shares').select(app.database.db.fn.countAll<number>().as('live')).where('contact_way_id', 'is not', null).executeTakeFirstOrThrow();
      const card = await publicCard(await deps({ shareWaysMax: Number(live) }), new ApprovedProducts(app.database.db), owner.id, { token, visitorId: 'test-visitor-bound-0001' });
      expect(card.qr!.state).to.equal(`card-${owner.userid}`);
      const share = await app.database.db.selectFrom('card_shares').select(['contact_way_id', 'way_refused_at']).where('token', '=', token).executeTakeFirstOrThrow();
      expect(share.contact_way_id).to.equal(null);
      expect(share.way_refused_at).to.be.instanceOf(Date);
    });

    it('retires a share code nobody viewed for the idle days, and makes a new one at the next view', async () => {
      const me = await staffClient(owner.username);
      const token = (await me.post('/api/v1/cards/shares', { channel: 'link' })).body.token as string;
      await visitor().get(`/api/v1/public/cards/${owner.id}?s=${token}`);
      const world = app.wecom.sandbox!.world;
      const live = () => [...world.contactWays.values()].filter((w) => w.state === shareState(token) && !w.deleted);
      expect(live()).to.have.length(1);
      await app.database.db.updateTable('card_shares').set({ last_viewed_at: new Date(Date.now() - 31 * 86_400_000) }).where('token', '=', token).execute();
      const d = await deps();
      expect(await retireIdleShareWays({ ...d, shareWaysMax: d.shareWaysMax }, 30)).to.be.at.least(1);
      expect(live()).to.have.length(0);
      const again = await visitor().get(`/api/v1/public/cards/${owner.id}?s=${token}`);
      expect(again.body.qr.state).to.equal(shareState(token));
      expect(live()).to.have.length(1);
    });
  });

  describe('the product page', () => {
    it('shows a catalogue product with its disclosures and the member who shared it', async () => {
      const v = visitor();
      const r = await v.get(`/api/v1/public/products/p-wm-fi-r2-180?from=${owner.id}`);
      expect(r.status).to.equal(200);
      expect(r.body.product).to.deep.include({ name: '星河恒享固收增强180天持有期理财', riskLevel: 'R2', typeLabel: '理财', term: '180天', minAmount: '1000元起' });
      expect(r.body.product.disclosures).to.include('理财非存款、产品有风险、投资须谨慎');
      expect(r.body.product.notices.join('')).to.contain('销售专区同步录音录像');
      expect(r.body.member).to.deep.equal({ id: owner.id, name: owner.name, title: '高级理财经理', branch: r.body.member.branch, url: `/card/${owner.id}` });
      const deposit = await productPage(app.gate, 'p-dep-lcd-3y');
      expect(deposit!.disclosures).to.not.include('理财非存款、产品有风险、投资须谨慎');
      expect(deposit!.notices).to.include('存款保险对同一存款人在本行的存款本息合计最高偿付50万元。');
      const alone = await v.get('/api/v1/public/products/p-cc-std');
      expect(alone.body.member).to.equal(null);
      expect((await v.get('/api/v1/public/products/p-unknown')).status).to.equal(404);
      const me = await staffClient(owner.username);
      expect((await me.get('/api/v1/cards/stats')).body.totals.productViews).to.be.at.least(1);
    });
  });

  describe('the API document', () => {
    it('describes the card routes, the public ones without a session', async () => {
      const doc = (await app.client().get('/api/v1/openapi.json')).body;
      expect(doc.paths['/api/v1/public/cards/{memberId}'].get.security).to.deep.equal([]);
      expect(doc.paths['/api/v1/cards/me'].put.requestBody).to.exist;
      expect(doc.paths['/api/v1/cards/stats'].get['x-roles']).to.equal('any');
    });
  });

  describe('scope', () => {
    it('shows an account manager their own card, a branch manager their branch, operations the bank', async () => {
      const lina = await staffClient('am.lina');
      const own = (await lina.get('/api/v1/cards/stats')).body.members.map((m: { name: string }) => m.name);
      expect(own).to.deep.equal(['李娜']);
      expect((await lina.get(`/api/v1/cards/referrals?staffId=${owner.id}`)).body.items).to.deep.equal([]);
      const bm = await staffClient('bm.liuyang');
      expect((await bm.get('/api/v1/cards/stats')).body.members.map((m: { name: string }) => m.name).sort()).to.deep.equal(['刘强', '李娜'].sort());
      const ops = await staffClient('ops');
      expect((await ops.get('/api/v1/cards/stats')).body.members).to.have.length(8);
      const bad = await ops.get('/api/v1/cards/stats?from=2026-13-01');
      expect(bad.body.error.issues[0].path).to.equal('query.from');
    });
  });
});
