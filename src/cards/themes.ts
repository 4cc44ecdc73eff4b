import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { AppError, type FieldIssue } from '../platform/errors.js';

/**
 * Card themes: files in templates/cards (YAML, or JSON, which is YAML too), each a set of colours
 * and layout options a member picks for their card. Checked at every start; every problem is
 * reported as `file:line:column field message`, and the service does not start with a bad file.
 * Beyond the shape, the colours must be readable: text on the card surface and the header text on
 * the primary colour meet WCAG contrast (4.5:1 and 3:1).
 */
export const THEME_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');

export const themeSchema = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9-]{1,29}$/, 'lowercase letters, digits and -, 2 to 30 characters, starting with a letter'),
  name: z.string().trim().min(1).max(12),
  description: z.string().trim().max(60).default(''),
  order: z.number().int().min(0).max(10_000).default(100),
  default: z.boolean().default(false),
  colors: z.strictObject({
    primary: colour,
    onPrimary: colour,
    background: colour,
    surface: colour,
    text: colour,
    muted: colour,
    accent: colour,
  }),
  layout: z.strictObject({
    header: z.enum(['banner', 'centered']),
    avatar: z.enum(['circle', 'rounded']),
    products: z.enum(['list', 'grid']),
  }),
});

export type CardTheme = z.output<typeof themeSchema>;

/** WCAG relative luminance and contrast ratio of two #rrggbb colours. */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const READABLE: ReadonlyArray<{ fg: keyof CardTheme['colors']; bg: keyof CardTheme['colors']; min: number }> = [
  { fg: 'text', bg: 'surface', min: 4.5 },
  { fg: 'muted', bg: 'surface', min: 4.5 },
  { fg: 'onPrimary', bg: 'primary', min: 3 },
];

function offsetOf(doc: Document, keys: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  for (const key of keys) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
      if (!pair) break;
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

/** Parses one theme file's text; throws AppError('invalid') with `file:line:column field` issues. */
export function parseTheme(source: string, fileName: string): CardTheme {
  const fail = (issues: FieldIssue[]) => new AppError('invalid', `invalid card theme ${fileName}`, { issues });
  const extension = path.extname(fileName).toLowerCase();
  if (!(THEME_EXTENSIONS as readonly string[]).includes(extension)) {
    throw fail([{ path: fileName, message: `unsupported file type; use ${THEME_EXTENSIONS.join(', ')}` }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number, keys: readonly PropertyKey[]) => {
    const { line, col } = lines.linePos(offset);
    return `${fileName}:${line}:${col}${keys.length ? ` ${keys.map(String).join('.')}` : ''}`;
  };
  if (doc.errors.length) throw fail(doc.errors.map((e) => ({ path: at(e.pos[0], []), message: `syntax error: ${e.message}` })));
  const result = themeSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw fail(
      result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: at(offsetOf(doc, [...issue.path, key]), [...issue.path, key]), message: 'unknown field' }))
          : [{ path: at(offsetOf(doc, issue.path), issue.path), message: issue.message }],
      ),
    );
  }
  const theme = result.data;
  const unreadable = READABLE.flatMap(({ fg, bg, min }) => {
    const ratio = contrast(theme.colors[fg], theme.colors[bg]);
    if (ratio >= min) return [];
    const keys = ['colors', fg];
    return [{ path: at(offsetOf(doc, keys), keys), message: `contrast with colors.${bg} is ${ratio.toFixed(2)}:1; at least ${min}:1 is needed to be readable` }];
  });
  if (unreadable.length) throw fail(unreadable);
  return theme;
}

export interface ThemeLibrary {
  themes: readonly CardTheme[];
  defaultKey: string;
  get(key: string): CardTheme | undefined;
}

/** Every theme file in `dir`; one AppError with the issues of every bad file, a duplicate key, or no single default. */
export async function loadThemes(dir: string): Promise<ThemeLibrary> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new AppError('invalid', `card themes cannot be read from ${dir}`, { issues: [{ path: dir, message: (error as NodeJS.ErrnoException).code ?? String(error) }] });
  }
  const files = names
    .filter((n) => !n.startsWith('.') && (THEME_EXTENSIONS as readonly string[]).includes(path.extname(n).toLowerCase()))
    .sort()
    .map((n) => path.join(dir, n));
  const themes: CardTheme[] = [];
  const issues: FieldIssue[] = [];
  const fileOf = new Map<string, string>();
  for (const file of files) {
    try {
      const theme = parseTheme(await readFile(file, 'utf8'), file);
      const other = fileOf.get(theme.key);
      if (other) issues.push({ path: `${file} key`, message: `key ${theme.key} is already used by ${other}` });
      else {
        fileOf.set(theme.key, file);
        themes.push(theme);
      }
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      issues.push(...(error.details.issues ?? []));
    }
  }
  if (!issues.length) {
    const defaults = themes.filter((t) => t.default);
    if (!themes.length) issues.push({ path: dir, message: 'no card theme files (.yaml, .yml, .json)' });
    else if (defaults.length !== 1) {
      issues.push({ path: dir, message: defaults.length ? `only one theme may be the default; found ${defaults.map((t) => fileOf.get(t.key)).join(', ')}` : 'one theme needs default: true' });
    }
  }
  if (issues.length) throw new AppError('invalid', `invalid card themes in ${dir}`, { issues });
  themes.sort((a, b) => a.order - b.order || a.key.localeCompare(b.key));
  const byKey = new Map(themes.map((t) => [t.key, t]));
  return { themes, defaultKey: themes.find((t) => t.default)!.key, get: (key) => byKey.get(key) };
}
