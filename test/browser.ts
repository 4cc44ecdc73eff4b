import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
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

export type ViewportSize = 'desktop' | 'sidebar' | 'phone';

/** A fresh browser context (own cookies) sized as a desktop, or as the WeCom sidebar / a phone. */
export async function newContext(app: TestApp, size: ViewportSize = 'desktop'): Promise<BrowserContext> {
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

/** Clicks a side-menu entry of the console, opening its group first when it is folded. */
export async function openMenu(page: Page, group: string, item: string): Promise<void> {
  const entry = page.getByRole('menuitem', { name: item, exact: true });
  if (!(await entry.isVisible())) await page.locator('.el-sub-menu__title', { hasText: group }).click();
  await entry.click();
}

/** Picks the first option containing `option` in an Element Plus select (its dropdown is teleported to the body). */
export async function choose(page: Page, select: Locator, option: string): Promise<void> {
  await select.click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: option }).first().click();
}

export interface BrowserApp {
  /** The app of this describe block (booted in its `before`). */
  readonly app: TestApp;
  /** The running test's own browser context, of the block's size. */
  readonly context: BrowserContext;
  /** One more context for the running test (another user, another device); closed when the test ends. */
  newContext(size?: ViewportSize): Promise<BrowserContext>;
}

/**
 * Registers the mocha hooks of a browser test block: the app booted once with `overrides` serving the
 * built pages, a fresh context per test sized `size` (closed after it, with any extra ones), and the
 * browser and the app closed at the end. Call it at the top of the `describe`, before the block's own
 * `before` hooks, which can then use `.app`.
 */
export function useBrowserApp(overrides: Record<string, string> = {}, size: ViewportSize = 'desktop'): BrowserApp {
  let app: TestApp | undefined;
  let context: BrowserContext | undefined;
  const extra: BrowserContext[] = [];
  before(async () => {
    app = await bootWebApp(overrides);
  });
  after(async () => {
    await closeBrowser();
    await app?.close();
    app = undefined;
  });
  beforeEach(async () => {
    context = await newContext(app!, size);
  });
  afterEach(async () => {
    for (const c of extra.splice(0)) await c.close();
    await context?.close();
    context = undefined;
  });
  return {
    get app() {
      if (!app) throw new Error('the app is not booted: use it inside hooks and tests');
      return app;
    },
    get context() {
      if (!context) throw new Error('no browser context: use it inside a test');
      return context;
    },
    async newContext(s: ViewportSize = size) {
      const c = await newContext(this.app, s);
      extra.push(c);
      return c;
    },
  };
}
