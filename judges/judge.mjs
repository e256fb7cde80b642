// Lighthouse and pa11y on a list of pages, in one Chromium, one page at a time (a 2-core
// machine: parallel runs would skew Lighthouse's timings and each other).
//   node judges/judge.mjs < pages.json > verdicts.json
// pages.json: {"pages": [{"url": ..., "cookies": {"sessionid": ...}}]}; the browser is
// CHROME_PATH (Debian's /usr/bin/chromium). Each verdict: Lighthouse's category scores,
// its failed audits, LCP; pa11y's issues (HTML_CodeSniffer, WCAG2AA). tests/deploy/test_judges.py
// runs this and asserts on the verdicts.
import lighthouse from "lighthouse";
import pa11y from "pa11y";
import puppeteer from "puppeteer";

const CATEGORIES = ["accessibility", "best-practices", "seo", "performance"];

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function failedAudits(lhr) {
  // Every audit a category counts (weight > 0) or lists, scored below 1; performance's
  // own are left to its score (its targets are the room issue's).
  const failed = [];
  for (const id of ["accessibility", "best-practices", "seo"]) {
    for (const ref of lhr.categories[id].auditRefs) {
      const audit = lhr.audits[ref.id];
      if (audit.scoreDisplayMode === "notApplicable" || audit.scoreDisplayMode === "manual") continue;
      if (audit.score !== null && audit.score < 1) {
        const items = (audit.details?.items ?? []).slice(0, 5).map((item) =>
          JSON.stringify(item.description ?? item.node?.snippet ?? item.url ?? item).slice(0, 300));
        failed.push({ category: id, id: ref.id, weight: ref.weight, title: audit.title, items });
      }
    }
  }
  return failed;
}

async function useCookies(browser, url, cookies) {
  // The browser's cookies become exactly the page's: a page is judged as a visitor with
  // those cookies (none: a first visit), whatever the page before it set. (Lighthouse
  // keeps cookies between runs, and a Cookie header would lose to the browser's own.)
  const tab = await browser.newPage();
  const cdp = await tab.createCDPSession();
  await cdp.send("Network.clearBrowserCookies");
  await cdp.send("Network.setCookies", {
    cookies: Object.entries(cookies).map(([name, value]) => ({ name, value, url })),
  });
  await tab.close();
}

async function judgeLighthouse(url, port, cookies, browser) {
  // Lighthouse's own trace sometimes misses the navigation on a busy machine
  // (NO_NAVSTART: "Please run Lighthouse again"): a run that failed so is run again.
  let verdict;
  for (let attempt = 1; attempt <= 3; attempt++) {
    await useCookies(browser, url, cookies);
    verdict = await lighthouseOnce(url, port);
    verdict.attempts = attempt;
    if (!verdict.error) break;
    process.stderr.write(`Lighthouse on ${url}, attempt ${attempt}: ${verdict.error}\n`);
  }
  return verdict;
}

async function lighthouseOnce(url, port) {
  const result = await lighthouse(url, {
    port,
    output: "json",
    logLevel: "error",
    onlyCategories: CATEGORIES,
    // An error page is scored too (its 4xx is the point of it).
    ignoreStatusCode: true,
    // Pictures of the page no score uses: time saved on every page.
    disableFullPageScreenshot: true,
    skipAudits: ["screenshot-thumbnails", "final-screenshot"],
  });
  const lhr = result.lhr;
  if (lhr.runtimeError) return { error: `${lhr.runtimeError.code}: ${lhr.runtimeError.message}` };
  const scores = {};
  for (const id of CATEGORIES) scores[id] = Math.round((lhr.categories[id].score ?? 0) * 100);
  return {
    scores,
    failed: failedAudits(lhr),
    lcp_ms: Math.round(lhr.audits["largest-contentful-paint"].numericValue ?? -1),
    form_factor: lhr.configSettings.formFactor,
    final_url: lhr.finalDisplayedUrl,
  };
}

async function judgePa11y(url, browser) {
  const result = await pa11y(url, {
    browser,
    runners: ["htmlcs"],
    standard: "WCAG2AA",
    includeWarnings: true,
    includeNotices: false,
    timeout: 60000,
  });
  return result.issues.map(({ type, code, message, selector }) => ({ type, code, message, selector }));
}

const { pages } = await readStdin();
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--remote-debugging-port=0"],
});
const port = Number(new URL(browser.wsEndpoint()).port);
const verdicts = [];
try {
  for (const { url, cookies = {} } of pages) {
    const started = Date.now();
    const verdict = { url };
    try {
      verdict.lighthouse = await judgeLighthouse(url, port, cookies, browser);
      await useCookies(browser, url, cookies);
      verdict.pa11y = await judgePa11y(url, browser);
    } catch (error) {
      verdict.error = String(error && error.stack ? error.stack : error);
    }
    verdict.seconds = (Date.now() - started) / 1000;
    verdicts.push(verdict);
    process.stderr.write(`judged ${url} in ${verdict.seconds} s\n`);
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify({ verdicts }, null, 1));
