import path from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { AppError, type FieldIssue } from './errors.js';

/**
 * Definition files the service reads at start (SOP templates, card themes): YAML, or JSON, which
 * the same parser reads (JSON is a subset of YAML 1.2), checked against a zod schema, with every
 * problem reported as `file:line:column field.path` so the author can jump to it.
 */
export const DEFINITION_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

const knownExtension = (name: string) => (DEFINITION_EXTENSIONS as readonly string[]).includes(path.extname(name).toLowerCase());

/** A definition file in a directory listing: a known extension, not a dot-file. */
export const isDefinitionFile = (name: string) => !path.basename(name).startsWith('.') && knownExtension(name);

/** The offset in the source of the node at `keys`, or of its deepest ancestor present (a missing field points at its parent). */
function offsetOf(doc: Document, keys: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  for (const key of keys) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
      if (!pair) break;
      // The key, not the value: a block scalar's value starts on the next line, and a null value has no range.
      if (isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (!isNode(item) || !item.range) break;
      offset = item.range[0];
      node = item;
    } else break;
  }
  return offset;
}

export interface DefinitionFile<T> {
  data: T;
  /** `file:line:column field.path` of the node at `keys` (or of its deepest ancestor present), for further checks. */
  at(keys: readonly PropertyKey[]): string;
  /** The AppError('invalid') a further check throws, worded as the file's own errors. */
  invalid(issues: FieldIssue[]): AppError;
}

/**
 * Parses one definition file's text against `schema`. `what` names the kind in the error message
 * ("SOP template"). Throws AppError('invalid') whose issues are `{path: 'dir/x.yaml:14:7 steps.2.text', message}`:
 * an unsupported extension, syntax errors, and one issue per zod issue (an unknown key at its own line).
 */
export function parseDefinitionFile<S extends z.ZodType>(source: string, fileName: string, schema: S, what: string): DefinitionFile<z.output<S>> {
  const invalid = (issues: FieldIssue[]) => new AppError('invalid', `invalid ${what} ${fileName}`, { issues });
  if (!knownExtension(fileName)) {
    throw invalid([{ path: fileName, message: `unsupported file type; use ${DEFINITION_EXTENSIONS.join(', ')}` }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number, keys: readonly PropertyKey[]) => {
    const { line, col } = lines.linePos(offset);
    const field = keys.map(String).join('.');
    return `${fileName}:${line}:${col}${field ? ` ${field}` : ''}`;
  };
  const at = (keys: readonly PropertyKey[]) => where(offsetOf(doc, keys), keys);
  if (doc.errors.length) throw invalid(doc.errors.map((e) => ({ path: where(e.pos[0], []), message: `syntax error: ${e.message}` })));
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    throw invalid(
      result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: at([...issue.path, key]), message: 'unknown field' }))
          : [{ path: at(issue.path), message: issue.message }],
      ),
    );
  }
  return { data: result.data, at, invalid };
}
