// What a person's browser does on suat's consent page, over plain HTTP: fetch the dialog, sign in, tick every
// permission box the page ticks, press Allow, and return the URL the dialog redirects to (not followed). Like a
// browser, it keeps the cookie the page sets and sends the page's Origin with the form.
// Test harness, not a client under test.
const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&');

async function consent(dialogUrl, userId, password) {
  const page = await fetch(dialogUrl);
  if (!page.ok) throw new Error(`dialog answered ${page.status}: ${await page.text()}`);
  const cookie = (page.headers.getSetCookie?.() ?? [page.headers.get('set-cookie')]).filter(Boolean)
    .map((c) => c.split(';')[0]).join('; ');
  const text = await page.text();
  const [, action, inner] = text.match(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/);
  const form = new URLSearchParams();
  for (const tag of inner.match(/<input [^>]*>/g)) {
    const attrs = Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, unescape(v)]));
    if (attrs.type === 'hidden' || (attrs.type === 'checkbox' && / checked/.test(tag))) form.append(attrs.name, attrs.value || '');
  }
  form.append('user', userId);
  form.append('password', password);
  form.append('action', 'allow');
  const r = await fetch(new URL(unescape(action), dialogUrl), {
    method: 'POST', body: form, redirect: 'manual', headers: { cookie, origin: new URL(dialogUrl).origin },
  });
  if (r.status !== 302) throw new Error(`confirm answered ${r.status}: ${await r.text()}`);
  return r.headers.get('location');
}

module.exports = { consent };
