import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bootApp, DEMO_PASSWORD, type TestApp } from './harness.js';

/**
 * Browser tests: the real pages, built by Vite once per test process into a directory of its own,
 * served by a real app, driven in Debian's Chromium through playwright-core. Every page records its
 * console errors and uncaught exceptions; `assertNoBrowserErrors` fails the test on any.
 */
const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = path.join(root, 'test-results');

let built: Promise<string> | undefined;

/** The web pages built for this test process (about two seconds, once). */
export function webDist(): Promise<string> {
  built ??= (async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), 'scrm-web-'));
    // A child process: Vite resolves its own client modules wrongly under this process's tsx loader.
    await run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '-c', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], { cwd: root });
    return outDir;
  })();
  return built;
}

/** The app, serving freshly built pages. */
export async function bootWebApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  return bootApp({ WEB_DIST_DIR: await webDist(), ...overrides });
}

let browser: Promise<Browser> | undefined;

export function launchBrowser(): Promise<Browser> {
  browser ??= chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  const b = browser;
  browser = undefined;
  if (b) await (await b).close();
}

export interface BrowserErrors {
  errors: string[];
}

const errorsOf = new WeakMap<Page, string[]>();

function watch(page: Page): Page {
  const errors: string[] = [];
  errorsOf.set(page, errors);
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  return page;
}

/** A fresh browser context (own cookies) sized as a desktop, or as the WeCom sidebar / a phone. */
export async function newContext(app: TestApp, size: 'desktop' | 'sidebar' | 'phone' = 'desktop'): Promise<BrowserContext> {
  const b = await launchBrowser();
  const viewport = size === 'desktop' ? { width: 1440, height: 900 } : size === 'sidebar' ? { width: 400, height: 800 } : { width: 390, height: 844 };
  const context = await b.newContext({
    baseURL: app.url,
    viewport,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    deviceScaleFactor: 1,
    isMobile: size === 'phone',
    hasTouch: size !== 'desktop',
  });
  context.setDefaultTimeout(15_000);
  context.on('page', (page) => void watch(page));
  return context;
}

export async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  if (!errorsOf.has(page)) watch(page);
  return page;
}

/** The console errors and uncaught exceptions the page has seen so far. */
export function browserErrors(page: Page): string[] {
  return errorsOf.get(page) ?? [];
}

export function assertNoBrowserErrors(page: Page): void {
  const errors = browserErrors(page);
  if (errors.length) throw new Error(`the browser reported ${errors.length} error(s):\n${errors.join('\n')}`);
}

/** Saves a full-page screenshot as test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Logs into the console through its login form and waits for the layout. */
export async function loginConsole(page: Page, username: string, password = DEMO_PASSWORD): Promise<void> {
  await page.goto('/console/login');
  await page.getByPlaceholder('请输入用户名').fill(username);
  await page.getByPlaceholder('请输入密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('[data-test="who"]').waitFor();
}
