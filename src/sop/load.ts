import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isDefinitionFile, parseDefinitionFile } from '../platform/definitionFile.js';
import { AppError, type FieldIssue } from '../platform/errors.js';
import { templateSchema, type SopTemplate } from './definition.js';

/**
 * SOP templates as files (templates/sop/*.yaml, .yml or .json): definition files (src/platform/definitionFile.ts)
 * checked with templateSchema, every problem reported as `file:line:column field.path` so the author can jump to it.
 */
export const TEMPLATE_DIR = 'templates/sop';

/**
 * Parses one template file's text. `fileName` names the file in errors and picks the format by its extension.
 * Throws AppError('invalid') whose issues are `{path: 'templates/sop/x.yaml:14:7 steps.2.text', message}`.
 */
export function parseTemplate(source: string, fileName: string): SopTemplate {
  return parseDefinitionFile(source, fileName, templateSchema, 'SOP template').data;
}

/** The template files in `dir` (by extension, dot-files skipped), sorted by name. */
export async function listTemplateFiles(dir: string = TEMPLATE_DIR): Promise<string[]> {
  return (await readdir(dir)).filter(isDefinitionFile).sort().map((name) => path.join(dir, name));
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
