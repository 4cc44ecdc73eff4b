import type { z } from 'zod';
import { emptyUsage, type Usage } from './audit.js';
import { asFailure, withDeadline, type ChatMessage, type LlmFailure, type LlmPort } from './llm.js';

/**
 * One model call for a sidebar task (no tools), under the task deadline, with the answer checked:
 * `parse` turns the text into what the task needs or returns null when it does not fit (then the
 * task falls back to what it can do without the model).
 */
export type Generated<T> =
  | { ok: true; value: T; raw: string; usage: Usage }
  | { ok: false; reason: string; raw: string | null; usage: Usage; failure?: LlmFailure };

export async function generate<T>(
  llm: LlmPort,
  messages: ChatMessage[],
  options: { deadlineMs: number; temperature?: number; maxTokens?: number; parse: (text: string) => T | null },
): Promise<Generated<T>> {
  const usage = emptyUsage();
  let raw: string;
  try {
    const turn = await withDeadline(options.deadlineMs, (signal) =>
      llm.complete({ messages, signal, temperature: options.temperature ?? 0.3, ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}) }),
    );
    usage.calls = 1;
    usage.promptTokens = turn.promptTokens;
    usage.completionTokens = turn.completionTokens;
    raw = turn.content;
  } catch (error) {
    const failure = asFailure(error);
    return { ok: false, reason: failure.reason, raw: null, usage, failure };
  }
  const value = options.parse(raw);
  return value === null ? { ok: false, reason: 'malformed', raw, usage } : { ok: true, value, raw, usage };
}

/** The first JSON object in a model's text (models wrap JSON in prose or ``` fences), checked by `schema`. */
export function parseJsonObject<S extends z.ZodType>(text: string, schema: S): z.output<S> | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(text.slice(start, end + 1)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
