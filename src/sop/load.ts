import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { AppError, type FieldIssue } from '../platform/errors.js';
import { templateSchema, type SopTemplate } from './definition.js';

/**
 * SOP templates as files (templates/sop/*.yaml): parsed with the `yaml` package, checked with
 * templateSchema, and every problem reported as `file:line:column field.path` so the author can jump to it.
 * A .json file goes through the same parser (JSON is a subset of YAML 1.2), so its lines are found the same way.
 */
export const TEMPLATE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
export const TEMPLATE_DIR = 'templates/sop';

type Key = PropertyKey;

/** The offset in the source of the node at `keys`, or of its deepest ancestor present (a missing field points at its parent). */
function offsetOf(doc: Document, keys: readonly Key[]): number {
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

function where(fileName: string, lines: LineCounter, offset: number, keys: readonly Key[]): string {
  const { line, col } = lines.linePos(offset);
  const field = keys.map(String).join('.');
  return `${fileName}:${line}:${col}${field ? ` ${field}` : ''}`;
}

/** One issue per zod issue; an unknown key gets its own path, so the line is the key's. */
function issuesFrom(error: z.ZodError, doc: Document, lines: LineCounter, fileName: string): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const keys = [...issue.path, key];
        return { path: where(fileName, lines, offsetOf(doc, keys), keys), message: 'unknown field' };
      });
    }
    return [{ path: where(fileName, lines, offsetOf(doc, issue.path), issue.path), message: issue.message }];
  });
}

/**
 * Parses one template file's text. `fileName` names the file in errors and picks the format by its extension.
 * Throws AppError('invalid') whose issues are `{path: 'templates/sop/x.yaml:14:7 steps.2.text', message}`.
 */
export function parseTemplate(source: string, fileName: string): SopTemplate {
  const extension = path.extname(fileName).toLowerCase();
  if (!(TEMPLATE_EXTENSIONS as readonly string[]).includes(extension)) {
    throw new AppError('invalid', `invalid SOP template ${fileName}`, {
      issues: [{ path: fileName, message: `unsupported file type; use ${TEMPLATE_EXTENSIONS.join(', ')}` }],
    });
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => ({ path: where(fileName, lines, e.pos[0], []), message: `syntax error: ${e.message}` }));
    throw new AppError('invalid', `invalid SOP template ${fileName}`, { issues });
  }
  const result = templateSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new AppError('invalid', `invalid SOP template ${fileName}`, { issues: issuesFrom(result.error, doc, lines, fileName) });
  }
  return result.data;
}

/** The template files in `dir` (by extension, dot-files skipped), sorted by name. */
export async function listTemplateFiles(dir: string = TEMPLATE_DIR): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .filter((name) => !name.startsWith('.') && (TEMPLATE_EXTENSIONS as readonly string[]).includes(path.extname(name).toLowerCase()))
    .sort()
    .map((name) => path.join(dir, name));
}

/**
 * Loads every template file in `dir`. Throws one AppError('invalid') carrying the issues of every bad file,
 * including a key used by two files (a key names one template).
 */
export async function loadTemplateDir(dir: string = TEMPLATE_DIR): Promise<{ file: string; template: SopTemplate }[]> {
  const loaded: { file: string; template: SopTemplate }[] = [];
  const issues: FieldIssue[] = [];
  const fileOfKey = new Map<string, string>();
  for (const file of await listTemplateFiles(dir)) {
    try {
      const template = parseTemplate(await readFile(file, 'utf8'), file);
      const other = fileOfKey.get(template.key);
      if (other) issues.push({ path: `${file} key`, message: `key ${template.key} is already used by ${other}` });
      else fileOfKey.set(template.key, file);
      loaded.push({ file, template });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      issues.push(...(error.details.issues ?? []));
    }
  }
  if (issues.length) throw new AppError('invalid', `invalid SOP templates in ${dir}`, { issues });
  return loaded;
}
