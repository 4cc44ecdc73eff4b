import type { ComplianceGate, Finding } from '../compliance/index.js';
import type { CustomerContext } from './customer.js';

/**
 * The gate's preview verdict on a draft shown to an account manager (a suggestion, a polished
 * draft, a next-best-action script). Nothing is recorded here: the draft is checked and recorded
 * again when the member sends it (the outbox), and the assistant's own audit row keeps these
 * verdicts.
 */
export interface JudgedText {
  text: string;
  verdict: 'pass' | 'warn' | 'block';
  findings: Finding[];
  /** Disclosures the content requires; `text` already carries the missing ones. */
  disclosures: string[];
  /** Product suitability for this customer, when the text names products. */
  suitability: { productId: string; ok: boolean; reason: string }[];
}

export async function judgeDraft(
  gate: ComplianceGate,
  text: string,
  options: { customer: CustomerContext | null; purpose?: 'marketing' | 'service'; now: Date },
): Promise<JudgedText> {
  const result = await gate.checkMessage({
    text,
    ...(options.purpose ? { purpose: options.purpose } : {}),
    ...(options.customer ? { customer: options.customer.facts } : {}),
    now: options.now,
  });
  return { text: result.text, verdict: result.verdict, findings: result.findings, disclosures: result.disclosures, suitability: result.suitability };
}

/** The most severe verdict of several. */
export function worstVerdict(verdicts: readonly ('pass' | 'warn' | 'block')[]): 'pass' | 'warn' | 'block' | null {
  if (!verdicts.length) return null;
  return verdicts.includes('block') ? 'block' : verdicts.includes('warn') ? 'warn' : 'pass';
}
