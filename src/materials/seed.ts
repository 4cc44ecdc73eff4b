import { sql } from 'kysely';
import { ComplianceGate } from '../compliance/index.js';
import type { Db } from '../platform/db/database.js';
import { approveMaterial, createMaterial, submitMaterial, type ChangedBy, type NewMaterial } from './lifecycle.js';

/**
 * The demo bank's material library: product cards for a deposit, a wealth product, a fund and an
 * insurance product, a service text and a link, each created, judged by the compliance gate and
 * approved exactly as staff would do it (by the system actor), so the sidebar and SOP editor have
 * content on first start.
 */
const DEMO_MATERIALS: readonly NewMaterial[] = [
  {
    kind: 'product',
    productIds: ['p-dep-lcd-3y'],
    text: '您好，星河大额存单（3年期）个人20万元起存，到期一次还本付息，具体利率以网点/手机银行公布为准，欢迎咨询。',
    labels: ['存款', '产品卡片'],
  },
  {
    kind: 'product',
    productIds: ['p-wm-fi-r2-180'],
    text: '您好，为您介绍星河恒享固收增强180天持有期理财（风险等级R2），以固定收益资产为主，每笔份额持有满180天后可赎回。过往业绩不代表未来表现。',
    labels: ['理财', '产品卡片'],
  },
  {
    kind: 'product',
    productIds: ['p-fund-bond-r2'],
    text: '您好，澄湖中短债债券型基金A主要投资中短期债券，10元起购；市场利率上行时净值可能下跌，详情请咨询您的客户经理。',
    labels: ['基金', '产品卡片'],
  },
  {
    kind: 'product',
    productIds: ['p-ins-ci'],
    text: '您好，安禾人寿守护重大疾病保险由安禾人寿承保、星河银行代理销售，保障责任以保险合同条款为准，请留意90天等待期和责任免除条款。',
    labels: ['保险', '产品卡片'],
  },
  {
    kind: 'text',
    title: '防诈骗提醒',
    text: '温馨提示：星河银行工作人员不会以任何理由索要您的短信验证码、密码，请勿向他人透露，谨防电信诈骗。如有疑问请拨打本行客服热线。',
    labels: ['服务', '防诈骗'],
  },
  {
    kind: 'link',
    title: '个人养老金开户指南',
    text: '您好，个人养老金资金账户开户步骤请见下方指南，每年缴存上限12000元，税收政策以国家规定为准。',
    attachment: {
      title: '个人养老金资金账户开户指南',
      desc: '三步完成开户与缴存设置',
      url: 'https://xinghe-bank.example/h5/pension-guide',
    },
    labels: ['养老', '指南'],
  },
];

const SYSTEM: ChangedBy = { actorType: 'system', actorId: null, requestId: 'demo-seed' };

/**
 * Seeds the demo materials once: under a transaction-scoped advisory lock, and only when the
 * library is empty, so concurrent or repeated starts add nothing. Returns how many it created.
 */
export async function seedDemoMaterials(db: Db, gate?: ComplianceGate, options: { publicUrl?: string } = {}): Promise<{ seeded: boolean; count: number }> {
  const judge = gate ?? new ComplianceGate({ db });
  const publicUrl = options.publicUrl ?? 'http://localhost:3000';
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('materials.demo-seed'))`.execute(trx);
    if (await trx.selectFrom('materials').select('id').limit(1).executeTakeFirst()) return { seeded: false, count: 0 };
    for (const input of DEMO_MATERIALS) {
      const draft = await createMaterial({ db: trx, publicUrl }, input, SYSTEM);
      await submitMaterial({ db: trx, gate: judge }, draft.id, SYSTEM);
      await approveMaterial({ db: trx, gate: judge }, draft.id, '演示素材', SYSTEM);
    }
    return { seeded: true, count: DEMO_MATERIALS.length };
  });
}
