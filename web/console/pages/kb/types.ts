import type { Finding, Verdict } from '../../content/labels';

export interface KbEntry {
  id: string;
  category: string;
  question: string;
  altQuestions: string[];
  answer: string;
  productIds: string[];
  needsDisclaimer: boolean;
  handoff: boolean;
  status: 'active' | 'retired';
  version: number;
  updatedBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export type KbChange = 'seed' | 'create' | 'update' | 'retire' | 'restore';

export interface KbVersion extends Omit<KbEntry, 'id' | 'updatedBy' | 'updatedAt'> {
  entryId: string;
  change: KbChange;
  note: string | null;
  changedBy: string | null;
  changedByName: string | null;
}

/** What a save answers: the entry and the compliance gate's verdict on its answer. */
export interface SavedKbEntry {
  entry: KbEntry;
  compliance: { verdict: Verdict; findings: Finding[]; appended: string[]; ruleSetVersion: number };
}

export const CHANGES: Record<KbChange, string> = { seed: '初始导入', create: '新建', update: '修改', retire: '停用', restore: '恢复' };

export const FIELDS: { key: keyof KbVersion; label: string }[] = [
  { key: 'category', label: '分类' },
  { key: 'question', label: '标准问题' },
  { key: 'altQuestions', label: '相似问法' },
  { key: 'answer', label: '答案' },
  { key: 'productIds', label: '关联产品' },
  { key: 'needsDisclaimer', label: '风险提示' },
  { key: 'handoff', label: '转人工' },
  { key: 'status', label: '状态' },
];
