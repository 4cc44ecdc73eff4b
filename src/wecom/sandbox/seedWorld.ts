import { createHash } from 'node:crypto';
import { BRANCHES, DEMO_STAFF } from '../../demo/branches.js';
import { AUM_PRIVATE, AUM_WEALTH, DEFAULT_AS_OF, generateCustomers, type SyntheticCustomer } from '../../demo/synthetic.js';
import { Rng } from './random.js';
import type { ContactWay, CorpTag, GroupMember, TagGroup, WorldSettings } from './types.js';
import { World } from './world.js';

/**
 * Builds the sandbox corp from a seed. Members, contacts and follow relations are exactly what the
 * product's demo seed (src/demo/seed.ts) writes for the same seed and customer count, so a first sync
 * finds the two in agreement; tags, groups and contact ways are drawn from their own seeded streams.
 */
export interface WorldSeed {
  corpId: string;
  agentId: number;
  seed: number;
  customers: number;
  settings?: Partial<WorldSettings>;
}

const AUM_POTENTIAL = 50_000; // the product's default 潜力 threshold (settings customers.aumTiers)
const DORMANT_DAYS = 180;
const AS_OF_SEC = Math.floor(DEFAULT_AS_OF.getTime() / 1000);
const DAY = 86_400;

export const TAG_PLAN: readonly { group: string; tags: readonly string[] }[] = [
  { group: '客户分层', tags: ['大众客户', '潜力客户', '财富客户', '私行客户'] },
  { group: '风险等级', tags: ['R1', 'R2', 'R3', 'R4', 'R5'] },
  { group: '意向', tags: ['大额存单', '信用卡', '基金定投', '养老规划'] },
  { group: '生命周期', tags: ['新客', '活跃', '沉睡'] },
];
const PERSONAL_TAGS = ['老客户', '爱聊基金', '需回访'];
const GROUP_THEMES = ['财富沙龙', '理财早知道', '养老规划交流', '信用卡权益', '基金定投打卡'];

export const DEFAULT_SETTINGS: WorldSettings = {
  receivingQuota: { period: 'month', limit: 4 },
  tagsEditableOnlyByCreator: true,
  contactWayLimit: 500_000,
  corpTagLimit: 3000,
};

export function departmentIdOf(branchId: string | null): number {
  const index = BRANCHES.findIndex((b) => b.id === branchId);
  return index < 0 ? 1 : index + 2;
}

function seedDirectory(world: World): void {
  world.departments.push({ id: 1, name: '星河银行', name_en: 'Xinghe Bank', department_leader: [], parentid: 0, order: 100_000_000 });
  BRANCHES.forEach((b, i) =>
    world.departments.push({ id: i + 2, name: b.name, name_en: '', department_leader: [], parentid: 1, order: 100_000_000 - (i + 1) * 1000 }),
  );
  for (const s of DEMO_STAFF) {
    if (!s.wecomUserid) continue;
    const dept = departmentIdOf(s.branchId);
    world.members.set(s.wecomUserid, {
      userid: s.wecomUserid, name: s.displayName, department: [dept], order: [0], position: s.title ?? '', is_leader_in_dept: [0],
      direct_leader: [], status: 1, main_department: dept, alias: '', telephone: '', external_position: s.title ?? '', open_userid: '',
      branchId: s.branchId,
    });
  }
}

function seedTags(world: World, rng: Rng): Map<string, string> {
  const idByName = new Map<string, string>();
  TAG_PLAN.forEach((plan, g) => {
    const created = AS_OF_SEC - 400 * DAY + g * 600;
    const tags: CorpTag[] = plan.tags.map((name, t) => {
      const id = 'et' + rng.chars(30);
      idByName.set(`${plan.group}/${name}`, id);
      return { id, name, create_time: created + t, order: plan.tags.length - t, deleted: false, createdBy: 'console' };
    });
    const group: TagGroup = {
      group_id: 'et' + rng.chars(30), group_name: plan.group, create_time: created, order: (TAG_PLAN.length - g) * 10, deleted: false,
      createdBy: 'console', tag: tags,
    };
    world.tagGroups.push(group);
  });
  return idByName;
}

function tierOf(aum: number): string {
  if (aum >= AUM_PRIVATE) return '私行客户';
  if (aum >= AUM_WEALTH) return '财富客户';
  if (aum >= AUM_POTENTIAL) return '潜力客户';
  return '大众客户';
}

function lifecycleOf(c: SyntheticCustomer): string {
  if (c.segments.includes('新客')) return '新客';
  if (!c.lastTxnAt || Date.parse(c.lastTxnAt) / 1000 < AS_OF_SEC - DORMANT_DAYS * DAY) return '沉睡';
  return '活跃';
}

function intentOf(c: SyntheticCustomer, rng: Rng): string | undefined {
  if (rng.next() >= 0.35) return undefined;
  if (c.segments.includes('临近退休') || c.segments.includes('养老金')) return '养老规划';
  return rng.pick(['大额存单', '信用卡', '基金定投']);
}

function seedContacts(world: World, options: WorldSeed, tagIds: Map<string, string>): void {
  let index = -1;
  for (const c of generateCustomers(options.customers, { seed: options.seed })) {
    index++;
    if (!c.wecom) continue;
    const w = c.wecom;
    // A stream per row, so one customer's tags do not depend on how many rows came before it.
    const rng = new Rng(options.seed, `follow-tags/${index}`);
    world.contacts.set(w.externalUserid, {
      external_userid: w.externalUserid, name: c.name, type: 1, gender: c.gender === 'M' ? 1 : 2, unionid: w.unionid, cifNo: c.cifNo, mobile: c.mobile,
    });
    const names = [`客户分层/${tierOf(c.aum)}`, c.riskLevel ? `风险等级/${c.riskLevel}` : undefined, `生命周期/${lifecycleOf(c)}`];
    const intent = intentOf(c, rng);
    if (intent) names.push(`意向/${intent}`);
    world.addFollow({
      userid: w.followerUserid,
      external_userid: w.externalUserid,
      remark: c.name,
      description: '',
      createtime: Math.floor(Date.parse(w.addedAt) / 1000),
      tagIds: names.flatMap((n) => (n && tagIds.has(n) ? [tagIds.get(n)!] : [])),
      personalTags: rng.next() < 0.05 ? [rng.pick(PERSONAL_TAGS)] : [],
      remark_corp_name: '',
      remark_mobiles: [c.mobile],
      // The customer scanned a code or a shared card, so the customer is the operator (SHAPES §3.1).
      oper_userid: w.externalUserid,
      add_way: w.state?.startsWith('card-') ? 3 : 1,
      ...(w.state ? { state: w.state } : {}),
      chatStarted: true,
    });
  }
}

export function memberVersion(memberIds: string[]): string {
  return createHash('md5').update([...memberIds].sort().join(',')).digest('hex');
}

function seedGroups(world: World, rng: Rng): void {
  const members = [...world.members.values()];
  if (!members.length) return;
  for (let g = 0; g < 10; g++) {
    const owner = members[g % members.length]!;
    const branch = BRANCHES.find((b) => b.id === owner.branchId);
    const short = branch ? branch.name.replace('星河银行', '').replace('营业部', '') : '星河';
    const created = AS_OF_SEC - (40 + rng.int(200)) * DAY + rng.int(DAY);
    const customers = rng.shuffle(world.followsOfUser(owner.userid)).slice(0, 3 + rng.int(6));
    const list: GroupMember[] = [{ userid: owner.userid, type: 1, join_time: created, join_scene: 1, group_nickname: '', name: owner.name }];
    const colleague = members.find((m) => m.userid !== owner.userid && m.branchId === owner.branchId);
    if (colleague) list.push({ userid: colleague.userid, type: 1, join_time: created + 60, join_scene: 1, invitor: { userid: owner.userid }, group_nickname: '', name: colleague.name });
    for (const f of customers) {
      const contact = world.contacts.get(f.external_userid)!;
      const scene = (1 + rng.int(3)) as 1 | 2 | 3;
      list.push({
        userid: contact.external_userid, type: 2, ...(contact.unionid ? { unionid: contact.unionid } : {}), join_time: created + 3600 + rng.int(30 * DAY),
        join_scene: scene, ...(scene === 3 ? {} : { invitor: { userid: owner.userid } }), group_nickname: '', name: contact.name,
      });
    }
    const chatId = 'wr' + rng.chars(28);
    world.groupChats.set(chatId, {
      seq: world.nextSeq('group'), chat_id: chatId, name: `${short}${GROUP_THEMES[g % GROUP_THEMES.length]}${Math.floor(g / GROUP_THEMES.length) + 1}群`,
      owner: owner.userid, create_time: created, notice: '理财有风险，投资需谨慎', member_list: list,
      admin_list: colleague ? [{ userid: colleague.userid }] : [], member_version: memberVersion(list.map((m) => m.userid)), status: 0, dismissed: false,
    });
  }
}

/** Console-made ways behind the generator's states (`card-<userid>`, `qr-<branch>`), for simulated scans. */
function seedContactWays(world: World, rng: Rng): void {
  const way = (user: string[], state: string, remark: string, type: 1 | 2): ContactWay => ({
    config_id: rng.hex(32), type, scene: 2, style: 0, remark, skip_verify: true, state, qr_code: `https://wework.qpic.cn/wwpic/${rng.int(1e6)}_${rng.chars(12)}/0`,
    user, party: [], is_temp: false, expires_in: 0, chat_expires_in: 0, unionid: '', conclusions: {}, viaApi: false, createdAt: (AS_OF_SEC - 500 * DAY) * 1000, deleted: false,
  });
  const all = [...world.members.values()];
  for (const m of all) {
    const w = way([m.userid], `card-${m.userid}`, `${m.name}的名片`, 1);
    world.contactWays.set(w.config_id, w);
  }
  for (const b of BRANCHES) {
    const own = all.filter((m) => m.branchId === b.id).map((m) => m.userid);
    const w = way(own.length ? own : all.map((m) => m.userid), `qr-${b.id}`, `${b.name}大堂二维码`, 2);
    world.contactWays.set(w.config_id, w);
  }
}

export function buildWorld(options: WorldSeed): World {
  const world = new World(options.corpId, options.agentId, options.seed, { ...DEFAULT_SETTINGS, ...options.settings });
  seedDirectory(world);
  const tagIds = seedTags(world, new Rng(options.seed, 'tags'));
  seedContacts(world, options, tagIds);
  seedGroups(world, new Rng(options.seed, 'groups'));
  seedContactWays(world, new Rng(options.seed, 'contact-ways'));
  const kf = new Rng(options.seed, 'kf');
  world.kfAccounts.push({ open_kfid: 'wk' + kf.chars(30), name: '星河银行在线客服' });
  return world;
}
