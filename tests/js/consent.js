// Drives suat's OAuth consent page in headless Debian Chromium (playwright-core, no downloaded browser):
// opens the dialog, checks what a person sees, unticks the permissions named in UNTICK (comma-separated), signs in
// and clicks Allow (or Cancel), and prints where the browser was sent. Called by crates/suat-server/tests/browser_consent.rs.
const { chromium } = require('playwright-core');

(async () => {
  const { DIALOG_URL, REDIRECT_PREFIX, USER_ID, PASSWORD, ACTION, SCREENSHOT, UNTICK } = process.env;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(DIALOG_URL);
    const appName = await page.textContent('#app-name');
    const permissions = await page.$$eval('#permissions li', (lis) => lis.map((li) => li.textContent.trim()));
    for (const permission of (UNTICK || '').split(',').filter(Boolean)) {
      await page.uncheck(`#permissions input[name="grant:${permission}"]`);
    }
    await page.fill('#user', USER_ID || '');
    await page.fill('#password', PASSWORD || '');
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT });
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(REDIRECT_PREFIX), { timeout: 15000 }),
      page.click(ACTION === 'cancel' ? '#cancel' : '#allow'),
    ]);
    console.log(JSON.stringify({ url: page.url(), appName, permissions }));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
