import type { Finding, Verdict } from '../../content/labels';

export type MaterialKind = 'text' | 'image' | 'link' | 'miniprogram' | 'file' | 'product';
export type MaterialStatus = 'draft' | 'pending' | 'approved' | 'rejected' | 'retired';

export type Attachment =
  | { msgtype: 'image'; image: { media_id?: string; pic_url?: string } }
  | { msgtype: 'link'; link: { title: string; desc?: string; url: string; picurl?: string } }
  | { msgtype: 'miniprogram'; miniprogram: { title: string; pic_media_id: string; appid: string; page: string } }
  | { msgtype: 'file'; file: { media_id: string } };

export interface Material {
  id: string;
  kind: MaterialKind;
  title: string;
  text: string;
  attachment: Attachment | null;
  productIds: string[];
  labels: string[];
  status: MaterialStatus;
  version: number;
  disclosures: string[];
  verdict: Verdict | null;
  findings: Finding[];
  reviewNote: string | null;
  createdBy: string | null;
  createdByName: string | null;
  submittedAt: string | null;
  reviewedBy: string | null;
  reviewedByName: string | null;
  reviewedAt: string | null;
  retiredAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What POST /materials/:id/check answers. */
export interface MaterialCheck {
  verdict: Verdict;
  findings: Finding[];
  disclosures: string[];
  appended: string[];
  text: string;
  ruleSetVersion: number;
}

export const KINDS: Record<MaterialKind, string> = {
  text: '文本',
  image: '图片',
  link: '链接',
  miniprogram: '小程序',
  file: '文件',
  product: '产品卡片',
};

export const STATUSES: Record<MaterialStatus, string> = {
  draft: '草稿',
  pending: '待审核',
  approved: '已通过',
  rejected: '已驳回',
  retired: '已下架',
};

export const STATUS_TAGS: Record<MaterialStatus, 'info' | 'warning' | 'success' | 'danger' | 'primary'> = {
  draft: 'info',
  pending: 'warning',
  approved: 'success',
  rejected: 'danger',
  retired: 'info',
};

/** What a customer reads on the attachment: the gate's attachment findings are offsets into this. */
export function attachmentText(attachment: Attachment | null): string {
  if (!attachment) return '';
  if (attachment.msgtype === 'link') return [attachment.link.title, attachment.link.desc].filter(Boolean).join('\n');
  if (attachment.msgtype === 'miniprogram') return attachment.miniprogram.title;
  return '';
}
