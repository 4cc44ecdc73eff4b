/**
 * Citations: the model marks each fact with the knowledge-base entry it came from, `[kb-001]`
 * (also 【kb-001】 and several ids in one bracket). The markers are taken out of the text the
 * customer sees; an id counts as a citation only when that entry was in the prompt, every other
 * id is dropped (and recorded as dropped: a model citing what it was not given made it up).
 */
const MARKER = /\s*[[【［]\s*(kb-\d{3,}(?:\s*[,，、;；\s]\s*kb-\d{3,})*)\s*[\]】］]/gi;

export interface CitedText {
  text: string;
  citations: string[];
  dropped: string[];
}

export function extractCitations(answer: string, provided: Iterable<string>): CitedText {
  const allowed = new Set(provided);
  const citations: string[] = [];
  const dropped: string[] = [];
  const text = answer
    .replace(MARKER, (_marker, ids: string) => {
      for (const id of ids.toLowerCase().split(/[^a-z0-9-]+/).filter(Boolean)) {
        const list = allowed.has(id) ? citations : dropped;
        if (!list.includes(id)) list.push(id);
      }
      return '';
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
  return { text, citations, dropped };
}
