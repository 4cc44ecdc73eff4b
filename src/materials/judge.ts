import type { CheckCaller, ComplianceGate, Finding } from '../compliance/index.js';
import { visibleText, type WecomAttachment } from './attachments.js';

/** A gate finding with the part of the material it was found in; offsets are within that part. */
export interface MaterialFinding extends Finding {
  field: 'text' | 'attachment';
}

export interface MaterialJudgement {
  verdict: 'pass' | 'warn' | 'block';
  findings: MaterialFinding[];
  /** Every disclosure the content requires (present already or appended). */
  disclosures: string[];
  /** The ones the gate appended. */
  appended: string[];
  /** The material's text with the appended disclosures: what is shown and sent. */
  text: string;
  ruleSetVersion: number;
}

/**
 * Judges a material as a customer sees it: the text and what the attachment shows (a link's title
 * and description, a mini-program's title) are checked as one message, so a forbidden phrase on a
 * card is found and the disclosures its products need are required. The disclosures the gate
 * appends (its wording, its format) are carried over to the end of the material's own text.
 */
export async function judgeMaterial(
  gate: ComplianceGate,
  content: { text: string; attachment: WecomAttachment | null; productIds: readonly string[] },
  caller: CheckCaller | null,
): Promise<MaterialJudgement> {
  const own = content.text;
  const shown = visibleText(content.attachment);
  const message = own && shown ? `${own}\n${shown}` : own || shown;
  const shownFrom = own && shown ? own.length + 1 : own ? Infinity : 0;
  const input = { text: message, productIds: content.productIds };
  const decision = caller ? await gate.checkAndRecord(input, caller) : await gate.checkMessage(input);

  let text = own;
  if (decision.appended.length) {
    const prefix = `${message.trimEnd()}\n`;
    // The gate returns the message unchanged with the disclosures after one newline.
    if (!decision.text.startsWith(prefix)) throw new Error('compliance gate changed the message it was given');
    const tail = decision.text.slice(prefix.length);
    text = own.trim() ? `${own.trimEnd()}\n${tail}` : tail;
  }
  const findings = decision.findings.map((f): MaterialFinding =>
    f.start >= shownFrom ? { ...f, field: 'attachment', start: f.start - shownFrom, end: f.end - shownFrom } : { ...f, field: 'text' },
  );
  return { verdict: decision.verdict, findings, disclosures: decision.disclosures, appended: decision.appended, text, ruleSetVersion: decision.ruleSetVersion };
}

/** One line naming what blocked a material, for the 400 answer and the audit row. */
export function blockedSummary(findings: readonly MaterialFinding[]): string {
  const named = [...new Set(findings.filter((f) => f.kind === 'block').map((f) => `「${f.match}」`))];
  return named.length ? `含禁止用语${named.join('、')}` : '未通过合规检查';
}
