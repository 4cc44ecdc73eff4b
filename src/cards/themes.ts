import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DEFINITION_EXTENSIONS, isDefinitionFile, parseDefinitionFile } from '../platform/definitionFile.js';
import { AppError, type FieldIssue } from '../platform/errors.js';

/**
 * Card themes: files in templates/cards (YAML, or JSON, which is YAML too), each a set of colours
 * and layout options a member picks for their card. Checked at every start; every problem is
 * reported as `file:line:column field message`, and the service does not start with a bad file.
 * Beyond the shape, the colours must be readable: text on the card surface and the header text on
 * the primary colour meet WCAG contrast (4.5:1 and 3:1).
 */

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

/** Parses one theme file's text; throws AppError('invalid') with `file:line:column field` issues. */
export function parseTheme(source: string, fileName: string): CardTheme {
  const { data: theme, at, invalid } = parseDefinitionFile(source, fileName, themeSchema, 'card theme');
  const unreadable = READABLE.flatMap(({ fg, bg, min }) => {
    const ratio = contrast(theme.colors[fg], theme.colors[bg]);
    if (ratio >= min) return [];
    const keys = ['colors', fg];
    return [{ path: at(keys), message: `contrast with colors.${bg} is ${ratio.toFixed(2)}:1; at least ${min}:1 is needed to be readable` }];
  });
  if (unreadable.length) throw invalid(unreadable);
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
    .filter(isDefinitionFile)
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
    if (!themes.length) issues.push({ path: dir, message: `no card theme files (${DEFINITION_EXTENSIONS.join(', ')})` });
    else if (defaults.length !== 1) {
      issues.push({ path: dir, message: defaults.length ? `only one theme may be the default; found ${defaults.map((t) => fileOf.get(t.key)).join(', ')}` : 'one theme needs default: true' });
    }
  }
  if (issues.length) throw new AppError('invalid', `invalid card themes in ${dir}`, { issues });
  themes.sort((a, b) => a.order - b.order || a.key.localeCompare(b.key));
  const byKey = new Map(themes.map((t) => [t.key, t]));
  return { themes, defaultKey: themes.find((t) => t.default)!.key, get: (key) => byKey.get(key) };
}
