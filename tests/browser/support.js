// Test support for the browser tests: the real telemeet binary in sandbox mode, a headless
// Chromium, the REST API with the demo key, screenshots and axe-core checks.
//
//   const tm = await startTelemeet();          // tm.base, tm.google, tm.apiKey, tm.dataDir
//   const browser = await launchChromium();
//   await checkA11y(page, 'doctor');           // fails on serious/critical axe violations
//   await screenshot(page, 'doctor');          // <artifacts>/doctor.png
//   await tm.stop();
'use strict';

const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = process.env.BROWSER_ARTIFACTS ||
    path.join(__dirname, '..', '..', 'build', 'debug', 'browser-artifacts');

// Starts `telemeet serve` on port 0 with a fresh data dir; resolves once it prints its URLs.
async function startTelemeet(extraArgs = []) {
  const bin = process.env.TELEMEET_BIN;
  assert.ok(bin, 'TELEMEET_BIN must name the telemeet binary');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemeet-browser-'));
  const dataDir = path.join(dir, 'data');
  const proc = spawn(bin, ['serve', '--port', '0', '--data-dir', dataDir, ...extraArgs],
                     {stdio: ['ignore', 'pipe', 'pipe']});
  let stderr = '';
  proc.stderr.on('data', d => { stderr += d; });
  const lines = readline.createInterface({input: proc.stdout});
  const found = {};
  const signIns = new Map();  // email -> password, from "    demo sign-in (role): email / password"
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('telemeet did not start: ' + stderr)), 30000);
    proc.once('exit', code => reject(new Error(`telemeet exited with ${code}: ${stderr}`)));
    lines.on('line', line => {
      let m;
      if ((m = /is running at (http:\/\/\S+?)\/?$/.exec(line))) found.base = m[1];
      if ((m = /Sandbox: Google is emulated at (http:\/\/\S+?) /.exec(line))) found.google = m[1];
      if ((m = /demo sign-in \(\w+\): (\S+) \/ (\S+)$/.exec(line))) signIns.set(m[1], m[2]);
      if (line.startsWith('Press Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.ok(found.base && found.google, 'telemeet printed its URL and the emulator URL');
  const apiKey = fs.readFileSync(path.join(dataDir, 'sandbox-api-key'), 'utf8').trim();
  const exited = new Promise(resolve => proc.once('exit', resolve));

  // The REST API with the demo key: {status, body}.
  async function api(method, p, body) {
    const res = await fetch(found.base + p, {
      method,
      headers: Object.assign({Authorization: 'Bearer ' + apiKey},
                             body === undefined ? {} : {'Content-Type': 'application/json'}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {status: res.status, body: text ? JSON.parse(text) : null};
  }
  // The emulator's control API.
  async function emulator(method, p, body) {
    const res = await fetch(found.google + p, {
      method, headers: {'Content-Type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {status: res.status, body: await res.json().catch(() => null)};
  }
  async function stop() {
    proc.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, {recursive: true, force: true});
  }
  return {base: found.base, google: found.google, apiKey, dataDir, signIns, api, emulator, stop};
}

async function launchChromium() {
  const {chromium} = require('playwright-core');
  // playwright gives the browser a fresh, empty profile of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A new page that fails the test on script errors and CSP violations.
async function newPage(browser, options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', e => page.problems.push('page error: ' + e.message));
  page.on('console', m => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
      page.problems.push('console error: ' + m.text());
    }
  });
  return page;
}

function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'no script errors or CSP violations');
}

let printedArtifacts = false;
async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, {recursive: true});
  const file = path.join(ARTIFACTS, name + '.png');
  await page.screenshot({path: file, fullPage: true});
  if (!printedArtifacts) {
    console.log('# screenshots are saved in ' + ARTIFACTS);
    printedArtifacts = true;
  }
  return file;
}

let axeSource;
// Runs axe-core (WCAG 2 A/AA and best practices) on the page; fails on serious or critical
// violations. The script is evaluated through the DevTools protocol, which the page's CSP
// (scripts from its own origin only) does not apply to.
async function checkA11y(page, label) {
  if (!axeSource) {
    let file;
    try {
      file = require.resolve('axe-core/axe.min.js');
    } catch (e) {
      assert.fail('axe-core is not installed: run `npm ci` (scripts/deps.sh test)');
    }
    axeSource = fs.readFileSync(file, 'utf8');
  }
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
  }));
  const bad = result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
  const text = bad.map(v => `${v.id} (${v.impact}): ${v.help} at ` +
                            v.nodes.map(n => n.target.join(' ')).join(', ')).join('\n');
  assert.equal(bad.length, 0, `${label}: axe found serious/critical violations:\n${text}`);
  return result;
}

// True when the page needs no horizontal scrolling at its current width.
async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <=
                             document.documentElement.clientWidth + 1);
}

// Polls `fn` until it returns a truthy value; fails after `ms`.
async function waitFor(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail('timed out waiting for ' + what);
    await new Promise(r => setTimeout(r, 150));
  }
}

module.exports = {startTelemeet, launchChromium, newPage, assertNoProblems, screenshot,
                  checkA11y, fitsWidth, waitFor, ARTIFACTS};
