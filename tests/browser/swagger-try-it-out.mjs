// Opens Swagger UI in Debian's headless Chromium, runs "Try it out" on POST /echo and prints what the
// page shows as one JSON line. Used by EchoApi.Tests (SwaggerUiTests); runnable by hand too:
//   SWAGGER_URL=http://127.0.0.1:8080/swagger/ ECHO_BODY=hello SCREENSHOT=/tmp/s.png node swagger-try-it-out.mjs
import { chromium } from 'playwright-core';

const url = process.env.SWAGGER_URL ?? 'http://127.0.0.1:8080/swagger/';
const body = process.env.ECHO_BODY ?? 'hello from Swagger UI';
const screenshot = process.env.SCREENSHOT;
const timeout = 30_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // No sandbox as root; no background traffic to hosts this machine cannot reach.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.setDefaultTimeout(timeout);
  const response = await page.goto(url);
  const operation = page.locator('#operations-Echo-Echo');
  await operation.waitFor();

  await operation.locator('.opblock-summary').first().click();
  await operation.locator('button.try-out__btn').click();
  await operation.locator('textarea.body-param__text').fill(body);
  await operation.locator('button.execute').click();

  const live = operation.locator('.live-responses-table .response').first();
  await live.waitFor();
  const status = (await live.locator('.response-col_status').textContent()).trim();
  const echoed = (await live.locator('.response-col_description pre').first().textContent()).trim();
  const title = await page.title();

  if (screenshot) {
    // The page's header (title, description) and the whole operation down to the echoed body.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0)); // boxes are then in page coordinates
    const top = await page.locator('.information-container').boundingBox();
    const bottom = await live.boundingBox();
    await page.screenshot({ path: screenshot, fullPage: true, clip: { x: 0, y: top.y, width: 1280, height: bottom.y + bottom.height + 20 - top.y } });
  }

  console.log(JSON.stringify({ pageStatus: response?.status(), title, status, echoed }));
} finally {
  await browser.close();
}
