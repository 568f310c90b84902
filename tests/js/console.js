// Drives suat's web console in headless Debian Chromium (playwright-core, no downloaded browser) through seed 004's
// steps: sign in to Business Settings as a business admin, create a system user, give it a task on a page, install
// the app, "Generate New Token" with pages_messaging, get the page token with it over the Graph API, debug it in the
// Access Token Debugger, revoke the system user's token in the console, and see the page token die. Also the Graph
// API Explorer, keyboard use, a label on every control, no CSP violation, and a phone-width rendering.
// A screenshot of each step goes to SHOTS. Prints what it saw as JSON for crates/suat-server/tests/browser_console.rs.
const { chromium } = require('playwright-core');
const path = require('path');

const { BASE, USER_ID, PASSWORD, APP_ID, APP_SECRET, PAGE_ID, SHOTS } = process.env;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function graph(pathAndQuery) {
  const r = await fetch(`${BASE}${pathAndQuery}`);
  return { status: r.status, body: await r.json() };
}

/// Every visible form control has an accessible name from a <label> (or aria-label): the ones without are returned.
async function unlabelled(page) {
  return page.$$eval('input:not([type=hidden]), select, textarea', (els) => els
    .filter((el) => !(el.labels && el.labels.length > 0) && !el.getAttribute('aria-label'))
    .map((el) => el.outerHTML));
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const out = { steps: [], unlabelled: [], cspViolations: [] };
  let page;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) out.cspViolations.push(m.text());
    });
    const shot = async (name) => {
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
      out.steps.push(name);
      out.unlabelled.push(...(await unlabelled(page)).map((h) => `${name}: ${h}`));
    };
    const notice = async () => (await page.locator('#notice, #error').first().textContent()).trim();

    // The landing page, as a browser gets it at `/`.
    await page.goto(`${BASE}/`);
    out.landingTitle = await page.title();
    await shot('01-landing');
    // Keyboard: the first Tab stop is the skip link.
    await page.keyboard.press('Tab');
    out.firstTab = await page.evaluate(() => document.activeElement.textContent);
    // The next Tab stop is the header's first link; the skip link, no longer focused, hides again.
    await page.keyboard.press('Tab');
    await Promise.all([
      page.waitForURL(`${BASE}/business_settings`),
      page.getByRole('link', { name: 'Business Settings' }).first().click(),
    ]);

    await page.waitForSelector('#sign-in-person');
    await shot('02-sign-in');
    // Sign in with the keyboard only.
    await page.getByLabel('User ID').focus();
    await page.keyboard.type(USER_ID);
    await page.keyboard.press('Tab');
    out.tabToPassword = await page.evaluate(() => document.activeElement.id);
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#signed-in');
    out.signedIn = (await page.textContent('#signed-in')).trim();
    await shot('03-business-settings');

    // Business Settings > Users > System Users: create one.
    await page.getByLabel('System user name').fill('Messenger bot');
    await page.getByLabel('System user role').selectOption('ADMIN');
    await page.getByRole('button', { name: 'Create system user' }).click();
    await page.waitForSelector('#notice');
    out.created = await notice();
    const su = /with id (\d+)/.exec(out.created)[1];
    out.systemUser = su;
    await shot('04-system-user-created');

    // Accounts > Pages > Add People: the system user, with a task (seed 004: Manage Page).
    await page.getByLabel('Page', { exact: true }).selectOption(PAGE_ID);
    await page.getByLabel('Person or system user').selectOption(su);
    await page.getByLabel('Manage Page (everything, including roles)').check();
    await page.getByRole('button', { name: 'Add people' }).click();
    await page.waitForSelector('#notice');
    out.assigned = await notice();
    out.pagePeople = (await page.textContent(`tr[data-page="${PAGE_ID}"]`)).trim();
    await shot('05-page-task');

    // Install the app for the system user.
    await page.getByLabel('Install for system user').selectOption(su);
    await page.getByLabel('App to install').selectOption(APP_ID);
    await page.getByRole('button', { name: 'Install app' }).click();
    await page.waitForSelector('#notice');
    out.installed = await notice();
    await shot('06-app-installed');

    // "Generate New Token": choose the app (the select submits itself), tick pages_messaging, never expires.
    await page.getByRole('link', { name: 'Generate New Token for Messenger bot' }).click();
    await page.waitForSelector('#gen-app');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('app') === APP_ID),
      page.getByLabel('Select app').selectOption(APP_ID),
    ]);
    await page.waitForSelector('#permissions');
    out.offered = await page.$$eval('#permissions input[name=scope]', (els) => els.map((e) => e.value));
    await page.getByLabel('pages_messaging', { exact: true }).check();
    await page.getByLabel('Never', { exact: true }).check();
    await shot('07-generate-new-token');
    await page.getByRole('button', { name: 'Generate Token' }).click();
    await page.waitForSelector('#new-token');
    const token = await page.inputValue('#new-token');
    out.tokenScopes = (await page.textContent('#new-token-scopes')).trim();
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.waitForFunction(() => document.getElementById('copy-token').textContent === 'Copied');
    out.copied = (await page.evaluate(() => navigator.clipboard.readText())) === token;
    await shot('08-token-shown-once');
    // Shown once: going back to the page does not show it again (no-store; the form would have to be re-posted).
    out.tokenInUrl = page.url().includes(token);

    // The page token, over the Graph API with the system user's token.
    const pageAnswer = await graph(`/v25.0/${PAGE_ID}?fields=access_token&access_token=${encodeURIComponent(token)}`);
    check(pageAnswer.status === 200, `page token: ${JSON.stringify(pageAnswer)}`);
    const pageToken = pageAnswer.body.access_token;
    out.pageTokenWorks = (await graph(`/v25.0/me?access_token=${encodeURIComponent(pageToken)}`)).status === 200;

    // Access Token Debugger on the page token.
    await page.getByRole('link', { name: 'Access Token Debugger' }).click();
    await page.getByLabel('Access token').fill(pageToken);
    await page.getByRole('button', { name: 'Debug' }).click();
    await page.waitForSelector('#token-info');
    out.debugged = {
      type: (await page.textContent('#info-type')).trim(),
      valid: (await page.textContent('#info-valid')).trim(),
      expires: (await page.textContent('#info-expires')).trim(),
      scopes: (await page.textContent('#info-scopes')).trim(),
      page: (await page.textContent('#info-page')).trim(),
    };
    await shot('09-debugger-page-token');

    // Revoke the system user's token in Business Settings.
    await page.getByRole('link', { name: 'Business Settings' }).first().click();
    await page.getByLabel('Token to revoke').fill(token);
    await page.getByRole('button', { name: 'Revoke token' }).click();
    await page.waitForSelector('#notice');
    out.revoked = await notice();
    await shot('10-token-revoked');

    // The page token died with it.
    const dead = await graph(`/v25.0/me?access_token=${encodeURIComponent(pageToken)}`);
    out.pageTokenAfter = { status: dead.status, code: dead.body.error.code, subcode: dead.body.error.error_subcode };
    await page.getByRole('link', { name: 'Access Token Debugger' }).click();
    await page.getByLabel('Access token').fill(pageToken);
    await page.getByRole('button', { name: 'Debug' }).click();
    await page.waitForSelector('#token-info');
    out.debuggedAfter = {
      valid: (await page.textContent('#info-valid')).trim(),
      subcode: (await page.textContent('#info-subcode')).trim(),
    };
    await shot('11-debugger-page-token-revoked');

    // Graph API Explorer: debug_token with the app token, as the explorer does it.
    await page.getByRole('link', { name: 'Graph API Explorer' }).click();
    await page.getByLabel('Method').selectOption('GET');
    await page.getByLabel('Path').fill('/v25.0/debug_token');
    await page.getByLabel('Parameters (one name=value a line)').fill(`input_token=${pageToken}\nfields=is_valid,type`);
    await page.getByLabel('Access token').fill(`${APP_ID}|${APP_SECRET}`);
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForSelector('#result');
    out.explorer = {
      status: (await page.textContent('#status')).trim(),
      body: JSON.parse(await page.textContent('#body')),
      curl: await page.inputValue('#curl'),
      hasTraceHeader: (await page.textContent('#headers')).includes('x-fb-trace-id'),
    };
    await shot('12-explorer');

    // A phone's width: the pages reflow (no sideways scrolling).
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    out.phone = {};
    for (const [name, url] of [['13-phone-business-settings', '/business_settings'],
      ['14-phone-debugger', '/tools/debug/accesstoken'], ['15-phone-explorer', '/tools/explorer']]) {
      await phone.goto(`${BASE}${url}`);
      await phone.waitForSelector('h1');
      out.phone[name] = await phone.evaluate(() => document.documentElement.scrollWidth);
      await phone.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
      out.steps.push(name);
    }
    console.log(JSON.stringify(out));
  } catch (e) {
    // What the page showed when a step failed, for the test's report.
    if (page) {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
      console.error(`failed at ${page.url()} after ${out.steps.join(', ')}:\n${await page.content().catch(() => '')}`);
    }
    throw e;
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
