// The consent page of fake-google in a real browser (headless Chromium driven by
// playwright-core): a user picks a test account and clicks Allow or Deny, and the browser is
// redirected back to the app the way Google does it. Skipped when Chromium or playwright-core is
// not installed.
//
//   FAKE_GOOGLE_BIN=build/debug/emulator/server/fake-google node --test tests/conformance/
'use strict';

const {test, before, after} = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const {OAuth2Client, CodeChallengeMethod} = require('google-auth-library');
const {startFakeGoogle} = require('./fake_google');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CLIENT_ID = 'browser.apps.googleusercontent.com';
const CLIENT_SECRET = 'browser-secret';
const REDIRECT_URI = 'http://127.0.0.1:1/oauth/callback';  // answered by the test, not a server

function playwrightInstalled() {
  try {
    require.resolve('playwright-core');
    return true;
  } catch {
    return false;
  }
}
const haveChromium = fs.existsSync(CHROMIUM) && playwrightInstalled();
let google;
let browser;

before(async () => {
  if (!haveChromium) return;
  google = await startFakeGoogle([
    '--client', `${CLIENT_ID}:${CLIENT_SECRET}:${REDIRECT_URI}`,
    '--account', 'doctor@example.com:Dr Who',
    '--account', 'nurse@example.com:Nurse Joy',
  ]);
  const {chromium} = require('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // playwright gives the browser a fresh, empty profile of its own.
  });
});

after(async () => {
  if (browser) await browser.close();
  if (google) google.stop();
});

function oauthClient() {
  return new OAuth2Client({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    endpoints: {
      oauth2AuthBaseUrl: google.base + '/o/oauth2/v2/auth',
      oauth2TokenUrl: google.base + '/token',
      tokenInfoUrl: google.base + '/tokeninfo',
      oauth2FederatedSignonPemCertsUrl: google.base + '/oauth2/v1/certs',
      oauth2FederatedSignonJwkCertsUrl: google.base + '/oauth2/v3/certs',
    },
  });
}

// Opens the consent page, lets `act` click, and returns the URL the browser was sent back to.
async function runConsent(authUrl, act) {
  const page = await browser.newPage();
  let callback;
  await page.route('http://127.0.0.1:1/**', route => {
    callback = new URL(route.request().url());
    return route.fulfill({status: 200, contentType: 'text/plain', body: 'back in the app'});
  });
  await page.goto(authUrl);
  await act(page);
  await page.waitForURL(url => url.toString().startsWith(REDIRECT_URI));
  await page.close();
  return callback;
}

test('choose an account and Allow', {skip: !haveChromium && 'no Chromium'}, async () => {
  const client = oauthClient();
  const {codeVerifier, codeChallenge} = await client.generateCodeVerifierAsync();
  const url = client.generateAuthUrl({
    access_type: 'offline', scope: ['openid', 'email'], state: 'st-1',
    code_challenge_method: CodeChallengeMethod.S256, code_challenge: codeChallenge,
  });
  const back = await runConsent(url, async page => {
    assert.equal(await page.getByRole('heading', {level: 1}).textContent(), 'Choose an account');
    await page.getByLabel('Nurse Joy (nurse@example.com)').check();
    await page.getByRole('button', {name: 'Allow'}).click();
  });
  assert.equal(back.searchParams.get('state'), 'st-1');
  assert.equal(back.searchParams.get('scope'), 'openid email');
  const {tokens} = await client.getToken({code: back.searchParams.get('code'), codeVerifier});
  const ticket = await client.verifyIdToken({idToken: tokens.id_token, audience: CLIENT_ID});
  assert.equal(ticket.getPayload().email, 'nurse@example.com');
  const info = await client.getTokenInfo(tokens.access_token);
  assert.equal(info.email, 'nurse@example.com');
});

test('Deny sends the user back with access_denied', {skip: !haveChromium && 'no Chromium'},
     async () => {
  const url = oauthClient().generateAuthUrl({scope: ['openid'], state: 'st-2'});
  const back = await runConsent(url, page => page.getByRole('button', {name: 'Deny'}).click());
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), 'st-2');
  assert.equal(back.searchParams.get('code'), null);
});

test('an unregistered redirect URI shows an error page, not a redirect',
     {skip: !haveChromium && 'no Chromium'}, async () => {
  const page = await browser.newPage();
  const url = oauthClient().generateAuthUrl({scope: ['openid'],
                                             redirect_uri: 'http://127.0.0.1:1/elsewhere'});
  const res = await page.goto(url);
  assert.equal(res.status(), 400);
  assert.match(await page.textContent('body'), /redirect_uri_mismatch/);
  await page.close();
});
