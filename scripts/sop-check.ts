/**
 * Checks SOP template files without starting the service:
 *
 *   npm run sop:check                      # every file in templates/sop
 *   npm run sop:check -- path/to/x.yaml    # just these files
 *
 * Prints `ok <file> (<key>, N steps)` for each good file and `<file>:<line>:<column> <field> <message>` for
 * each problem (stderr). Exit code 1 when any file has a problem, or two files share a key.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../src/platform/errors.js';
import { listTemplateFiles, parseTemplate } from '../src/sop/load.js';

const files = process.argv.length > 2 ? process.argv.slice(2) : await listTemplateFiles();
const fileOfKey = new Map<string, string>();
let failed = false;
const fail = (line: string) => {
  failed = true;
  process.stderr.write(`${line}\n`);
};

for (const file of files) {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    fail(`${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    continue;
  }
  try {
    const template = parseTemplate(source, file);
    const other = fileOfKey.get(template.key);
    if (other) {
      fail(`${file} key: key ${template.key} is already used by ${other}`);
    } else {
      fileOfKey.set(template.key, file);
      process.stdout.write(`ok ${file} (${template.key}, ${template.steps.length} steps)\n`);
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    for (const issue of error.details.issues ?? []) fail(`${issue.path}: ${issue.message}`);
  }
}
if (files.length === 0) fail('no template files found');
process.exitCode = failed ? 1 : 0;
