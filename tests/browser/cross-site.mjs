// What a web page the owner visits can make Debian's headless Chromium send to the socat bridge, and
// what it gets back. Prints one JSON line. Used by EchoApi.Tests (BrowserAttackTests); runnable by hand:
//   BRIDGE_URL=http://127.0.0.1:8080/ node cross-site.mjs
//
// 1. An attacker's page on another origin (this script serves it on another local port) tries a
//    cross-site "simple" POST (no-cors fetch, and an HTML form, the classic CSRF), a CORS fetch, a read
//    of /whoami and a WebSocket to /echo/ws.
// 2. DNS rebinding: the browser is told that attacker.example is 127.0.0.1 (as a rebinding DNS server
//    would make it believe), opens http://attacker.example:<bridge port>/ and, same-origin as far as it
//    knows, reads /whoami and POSTs to /echo.
// 3. The control: the bridge's own page (Swagger UI) POSTs to /echo, same-origin, as "Try it out" does.
import http from 'node:http';
import { chromium } from 'playwright-core';

const bridge = new URL(process.env.BRIDGE_URL ?? 'http://127.0.0.1:8080/');
const marker = process.env.MARKER ?? 'csrf-marker';
const timeout = 30_000;

const attackerPage = `<!doctype html><title>attacker</title>
<iframe name="sink" style="display:none"></iframe>
<form id="csrf" method="POST" action="${new URL('echo', bridge)}" enctype="text/plain" target="sink">
  <input name="${marker}-form" value="x">
</form>
<script>
  const bridge = ${JSON.stringify(bridge.href)};
  const outcome = (promise) => promise.then((v) => v, (e) => ({ error: String(e) }));
  window.attack = (async () => {
    const results = {};
    results.noCorsPost = await outcome(fetch(bridge + 'echo', { method: 'POST', mode: 'no-cors', body: '${marker}-no-cors' })
      .then((r) => ({ type: r.type, status: r.status })));
    results.corsPost = await outcome(fetch(bridge + 'echo', { method: 'POST', body: '${marker}-cors', headers: { 'Content-Type': 'text/plain' } })
      .then(async (r) => ({ status: r.status, body: await r.text() })));
    results.whoami = await outcome(fetch(bridge + 'whoami').then(async (r) => ({ status: r.status, body: await r.text() })));
    results.webSocket = await new Promise((resolve) => {
      const ws = new WebSocket(bridge.replace('http', 'ws') + 'echo/ws');
      const events = [];
      ws.onopen = () => { events.push('open'); ws.send('${marker}-ws\\n'); };
      ws.onmessage = (m) => events.push('message: ' + m.data);
      ws.onerror = () => events.push('error');
      ws.onclose = (c) => { events.push('close ' + c.code); resolve(events); };
      setTimeout(() => resolve(events.concat('timeout')), 10000);
    });
    results.form = await new Promise((resolve) => {
      const sink = document.querySelector('iframe');
      sink.onload = () => resolve('submitted');
      document.getElementById('csrf').submit();
      setTimeout(() => resolve('timeout'), 10000);
    });
    return results;
  })();
</script>`;

const server = http.createServer((request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  response.end(attackerPage);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const attackerOrigin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // No sandbox as root; no background traffic; attacker.example resolves to this machine, as after a
  // DNS rebinding; plain http stays plain http (no HTTPS upgrade attempt on the bridge's port).
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP attacker.example 127.0.0.1',
    '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);

  await page.goto(`${attackerOrigin}/`);
  const crossSite = await page.evaluate(() => window.attack);

  const rebound = new URL(bridge);
  rebound.hostname = 'attacker.example';
  const navigation = await page.goto(new URL('whoami', rebound).href);
  const rebinding = {
    navigationStatus: navigation?.status(),
    navigationBody: await page.evaluate(() => document.body.innerText),
    ...(await page.evaluate(async (marker) => {
      const read = async (r) => ({ status: r.status, body: await r.text() });
      return {
        whoami: await fetch('/whoami').then(read),
        openapi: await fetch('/openapi/v1.json').then(read),
        echo: await fetch('/echo', { method: 'POST', body: marker + '-rebound' }).then(read),
      };
    }, marker)),
  };

  const own = await page.goto(new URL('swagger/', bridge).href);
  const control = {
    pageStatus: own?.status(),
    ...(await page.evaluate(async (marker) => {
      const r = await fetch('/echo', { method: 'POST', body: marker + '-control', headers: { 'Content-Type': 'text/plain' } });
      return { status: r.status, body: await r.text() };
    }, marker)),
  };

  console.log(JSON.stringify({ attackerOrigin, crossSite, rebinding, control }));
} finally {
  await browser.close();
  server.close();
}
