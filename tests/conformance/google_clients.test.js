// Conformance of fake-google with Google's official Node clients (google-auth-library's
// OAuth2Client and @googleapis/calendar), pointed at the emulator with custom OAuth endpoints and
// rootUrl (google-protocol.md §13). If these clients accept the emulator's answers, so will
// code written against real Google.
//
//   FAKE_GOOGLE_BIN=build/debug/emulator/server/fake-google node --test tests/conformance/
//
// The fake-google binary is started on port 0 per run; everything stays on 127.0.0.1.
'use strict';

const {test, before, after} = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const {OAuth2Client, CodeChallengeMethod} = require('google-auth-library');
const {calendar: calendarApi} = require('@googleapis/calendar');
const {startFakeGoogle} = require('./fake_google');

const CLIENT_ID = 'conformance.apps.googleusercontent.com';
const CLIENT_SECRET = 'conformance-secret';
const REDIRECT_URI = 'http://127.0.0.1:1/oauth/callback';  // never followed: we read Location
const DOCTOR = 'doctor@example.com';
const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';

let google;
let base;  // "http://127.0.0.1:PORT"

before(async () => {
  google = await startFakeGoogle([
    '--client', `${CLIENT_ID}:${CLIENT_SECRET}:${REDIRECT_URI}`,
    '--account', `${DOCTOR}:Dr Who`,
    '--account', 'nurse@example.com:Nurse Joy',
  ]);
  base = google.base;
});

after(() => {
  if (google) google.stop();
});

// ---- helpers ---------------------------------------------------------------------------------

async function control(method, path, body) {
  const res = await fetch(base + '/_emulator/' + path, {
    method,
    headers: body ? {'content-type': 'application/json'} : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
}

function newOAuthClient(extra = {}) {
  return new OAuth2Client({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    endpoints: {
      oauth2AuthBaseUrl: base + '/o/oauth2/v2/auth',
      oauth2TokenUrl: base + '/token',
      oauth2RevokeUrl: base + '/revoke',
      tokenInfoUrl: base + '/tokeninfo',
      oauth2FederatedSignonPemCertsUrl: base + '/oauth2/v1/certs',
      oauth2FederatedSignonJwkCertsUrl: base + '/oauth2/v3/certs',
    },
    ...extra,
  });
}

// The query parameters of the redirect the authorization endpoint answers with.
function redirectParams(res) {
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get('location'));
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  return location.searchParams;
}

// The authorization-code flow with PKCE, approved without a browser (auto-approve + login_hint).
async function authorize(client, {scope = [CALENDAR_SCOPE], prompt} = {}) {
  await control('PATCH', 'settings', {autoApprove: true});
  const {codeVerifier, codeChallenge} = await client.generateCodeVerifierAsync();
  const state = 'state-' + Math.random().toString(36).slice(2);
  const url = client.generateAuthUrl({
    access_type: 'offline',
    scope,
    state,
    login_hint: DOCTOR,
    prompt,
    code_challenge_method: CodeChallengeMethod.S256,
    code_challenge: codeChallenge,
  });
  const params = redirectParams(await fetch(url, {redirect: 'manual'}));
  assert.equal(params.get('state'), state);
  const {tokens} = await client.getToken({code: params.get('code'), codeVerifier});
  client.setCredentials(tokens);
  return tokens;
}

function calendarFor(auth) {
  return calendarApi({version: 'v3', auth, rootUrl: base + '/'});
}

const MEET_CODE = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;

function consultation(hour, requestId) {
  const day = '2026-03-02';
  const event = {
    summary: `Consultation ${hour}:00`,
    start: {dateTime: `${day}T${String(hour).padStart(2, '0')}:00:00Z`},
    end: {dateTime: `${day}T${String(hour).padStart(2, '0')}:30:00Z`},
  };
  if (requestId) {
    event.conferenceData = {
      createRequest: {requestId, conferenceSolutionKey: {type: 'hangoutsMeet'}},
    };
  }
  return event;
}

async function expectApiError(promise, status, reason) {
  await assert.rejects(promise, err => {
    assert.equal(err.status ?? err.response?.status, status, err.message);
    const errors = err.response?.data?.error?.errors ?? err.errors ?? [];
    assert.equal(errors[0]?.reason, reason, JSON.stringify(err.response?.data));
    return true;
  });
}

// ---- OAuth -----------------------------------------------------------------------------------

test('authorization-code flow with PKCE through OAuth2Client', async () => {
  await control('POST', 'reset');
  const client = newOAuthClient();
  const tokens = await authorize(client, {scope: [CALENDAR_SCOPE, 'openid', 'email']});
  assert.match(tokens.access_token, /^ya29\./);
  assert.ok(tokens.refresh_token, 'first offline consent gives a refresh token');
  assert.equal(tokens.token_type, 'Bearer');
  assert.ok(tokens.expiry_date > Date.now() + 3500 * 1000);
  assert.deepEqual(tokens.scope.split(' ').sort(), [CALENDAR_SCOPE, 'email', 'openid'].sort());

  // The ID token verifies against the emulator's published keys.
  const ticket = await client.verifyIdToken({idToken: tokens.id_token, audience: CLIENT_ID});
  assert.equal(ticket.getPayload().email, DOCTOR);
  assert.equal(ticket.getPayload().iss, 'https://accounts.google.com');

  const info = await client.getTokenInfo(tokens.access_token);
  assert.equal(info.email, DOCTOR);
  assert.equal(info.aud, CLIENT_ID);
  assert.ok(info.scopes.includes(CALENDAR_SCOPE));

  // A second consent without prompt=consent: no new refresh token, as Google does.
  const again = newOAuthClient();
  const second = await authorize(again);
  assert.equal(second.refresh_token, undefined);
  const forced = await authorize(newOAuthClient(), {prompt: 'consent'});
  assert.ok(forced.refresh_token);
});

test('consent page Allow and Deny, and a wrong PKCE verifier', async () => {
  await control('POST', 'reset');
  await control('PATCH', 'settings', {autoApprove: false});
  const client = newOAuthClient();
  const {codeVerifier, codeChallenge} = await client.generateCodeVerifierAsync();
  const url = client.generateAuthUrl({
    access_type: 'offline', scope: [CALENDAR_SCOPE], state: 'xyz',
    code_challenge_method: CodeChallengeMethod.S256, code_challenge: codeChallenge,
  });
  const consent = async decision => {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, />Allow<\/button>/);
    assert.match(html, />Deny<\/button>/);
    assert.match(html, /Dr Who \(doctor@example\.com\)/);
    const pending = /name="pending" value="([^"]+)"/.exec(html)[1];
    const account = /value="(\d+)"[^>]*> <label[^>]*>Dr Who/.exec(html)[1];
    return fetch(base + '/o/oauth2/v2/auth', {
      method: 'POST',
      redirect: 'manual',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({pending, account, decision}),
    });
  };
  const denied = redirectParams(await consent('deny'));
  assert.equal(denied.get('error'), 'access_denied');
  assert.equal(denied.get('state'), 'xyz');

  const allowed = redirectParams(await consent('allow'));
  assert.equal(allowed.get('state'), 'xyz');
  assert.equal(allowed.get('scope'), CALENDAR_SCOPE);
  await assert.rejects(client.getToken({code: allowed.get('code'), codeVerifier: 'x'.repeat(43)}),
                       err => err.response?.data?.error === 'invalid_grant');
  const {tokens} = await client.getToken({code: allowed.get('code'), codeVerifier});
  assert.ok(tokens.access_token);
  await assert.rejects(client.getToken({code: allowed.get('code'), codeVerifier}), err => {
    assert.equal(err.response?.data?.error_description, 'Code was already redeemed.');
    return true;
  });
});

test('refresh after the emulator expires every access token', async () => {
  await control('POST', 'reset');
  const client = newOAuthClient({forceRefreshOnFailure: true});
  const tokens = await authorize(client);
  const cal = calendarFor(client);
  await cal.calendars.get({calendarId: 'primary'});
  const expired = await control('POST', 'tokens/expire');
  assert.equal(expired.expired, 1);
  await control('DELETE', 'requests');

  // The stale token gets a 401; the client refreshes once and retries.
  const res = await cal.calendars.get({calendarId: 'primary'});
  assert.equal(res.status, 200);
  assert.notEqual(client.credentials.access_token, tokens.access_token);
  assert.equal(client.credentials.refresh_token, tokens.refresh_token);  // not rotated
  const log = (await control('GET', 'requests')).requests.map(e => `${e.method} ${e.path} ${e.status}`);
  assert.deepEqual(log, [
    'GET /calendar/v3/calendars/primary 401',
    'POST /token 200',
    'GET /calendar/v3/calendars/primary 200',
  ]);

  // Explicit refresh works too, and a revoked grant stops it.
  const refreshed = await client.refreshAccessToken();
  assert.ok(refreshed.credentials.access_token);
  await client.revokeToken(tokens.refresh_token);
  await assert.rejects(client.refreshAccessToken(), err => {
    assert.equal(err.response?.data?.error, 'invalid_grant');
    assert.equal(err.response?.data?.error_description, 'Token has been expired or revoked.');
    return true;
  });
});

// ---- Calendar --------------------------------------------------------------------------------

test('events: insert with Meet, get, patch, list with syncToken, delete twice', async () => {
  await control('POST', 'reset');
  const client = newOAuthClient();
  await authorize(client);
  const cal = calendarFor(client);

  const primary = await cal.calendars.get({calendarId: 'primary'});
  assert.equal(primary.data.id, DOCTOR);

  const inserted = await cal.events.insert({
    calendarId: 'primary',
    conferenceDataVersion: 1,
    requestBody: consultation(10, 'req-' + Date.now()),
  });
  assert.equal(inserted.status, 200);
  const ev = inserted.data;
  assert.equal(ev.kind, 'calendar#event');
  assert.match(ev.conferenceData.conferenceId, MEET_CODE);
  const video = ev.conferenceData.entryPoints.find(p => p.entryPointType === 'video');
  assert.equal(video.uri, `https://meet.google.com/${ev.conferenceData.conferenceId}`);
  assert.equal(ev.hangoutLink, video.uri);
  assert.equal(ev.conferenceData.createRequest.status.statusCode, 'success');

  // Without conferenceDataVersion the conference request is dropped.
  const plain = await cal.events.insert({calendarId: 'primary',
                                         requestBody: consultation(12, 'ignored')});
  assert.equal(plain.data.conferenceData, undefined);

  const got = await cal.events.get({calendarId: 'primary', eventId: ev.id});
  assert.equal(got.data.id, ev.id);
  assert.equal(got.data.etag, ev.etag);

  const patched = await cal.events.patch({
    calendarId: 'primary', eventId: ev.id, requestBody: {summary: 'Follow-up'},
  });
  assert.equal(patched.data.summary, 'Follow-up');
  assert.notEqual(patched.data.etag, ev.etag);
  assert.equal(patched.data.hangoutLink, ev.hangoutLink);
  // A stale If-Match: 412 conditionNotMet.
  await expectApiError(cal.events.patch({
    calendarId: 'primary', eventId: ev.id, requestBody: {summary: 'x'},
  }, {headers: {'If-Match': ev.etag}}), 412, 'conditionNotMet');

  // Full sync, then an incremental one that sees only what changed.
  const full = await cal.events.list({calendarId: 'primary'});
  assert.equal(full.data.items.length, 2);
  assert.ok(full.data.nextSyncToken);
  const third = await cal.events.insert({calendarId: 'primary', requestBody: consultation(14)});
  await cal.events.delete({calendarId: 'primary', eventId: plain.data.id});
  const delta = await cal.events.list({calendarId: 'primary', syncToken: full.data.nextSyncToken});
  const byId = Object.fromEntries(delta.data.items.map(i => [i.id, i.status]));
  assert.deepEqual(byId, {[third.data.id]: 'confirmed', [plain.data.id]: 'cancelled'});
  assert.ok(delta.data.nextSyncToken);
  // syncToken cannot be combined with timeMin.
  await assert.rejects(cal.events.list({calendarId: 'primary', syncToken: full.data.nextSyncToken,
                                        timeMin: '2026-01-01T00:00:00Z'}),
                       err => err.status === 400);
  await assert.rejects(cal.events.list({calendarId: 'primary', syncToken: 'garbage'}),
                       err => [400, 410].includes(err.status));

  const deleted = await cal.events.delete({calendarId: 'primary', eventId: ev.id});
  assert.equal(deleted.status, 204);
  await expectApiError(cal.events.delete({calendarId: 'primary', eventId: ev.id}), 410, 'deleted');
  await expectApiError(cal.events.get({calendarId: 'primary', eventId: 'neverexisted00'}), 404,
                       'notFound');
  // get still returns the cancelled event.
  const cancelled = await cal.events.get({calendarId: 'primary', eventId: ev.id});
  assert.equal(cancelled.data.status, 'cancelled');
});

test('freebusy', async () => {
  await control('POST', 'reset');
  const client = newOAuthClient();
  await authorize(client);
  const cal = calendarFor(client);
  await cal.events.insert({calendarId: 'primary', requestBody: consultation(9)});
  const fb = await cal.freebusy.query({requestBody: {
    timeMin: '2026-03-02T00:00:00Z', timeMax: '2026-03-03T00:00:00Z',
    items: [{id: 'primary'}, {id: 'nobody@example.com'}],
  }});
  assert.equal(fb.data.kind, 'calendar#freeBusy');
  const mine = fb.data.calendars.primary ?? fb.data.calendars[DOCTOR];
  assert.equal(mine.busy.length, 1);
  assert.equal(Date.parse(mine.busy[0].start), Date.parse('2026-03-02T09:00:00Z'));
  assert.equal(Date.parse(mine.busy[0].end), Date.parse('2026-03-02T09:30:00Z'));
  assert.equal(fb.data.calendars['nobody@example.com'].errors[0].reason, 'notFound');
});

test('watch delivers real push notifications to a local server', async () => {
  await control('POST', 'reset');
  const client = newOAuthClient();
  await authorize(client);
  const cal = calendarFor(client);

  const received = [];
  let notify;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', chunk => { body += chunk; });
    req.on('end', () => {
      received.push({headers: req.headers, body});
      res.writeHead(200).end();
      if (notify) notify();
    });
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${server.address().port}/notifications`;
  const waitFor = async n => {
    const deadline = Date.now() + 5000;
    while (received.length < n && Date.now() < deadline) {
      await new Promise(resolve => { notify = resolve; setTimeout(resolve, 100); });
    }
    assert.ok(received.length >= n, `expected ${n} notifications, got ${received.length}`);
  };
  try {
    const channel = await cal.events.watch({calendarId: 'primary', requestBody: {
      id: 'conformance-channel', type: 'web_hook', address, token: 'verify-me',
    }});
    assert.equal(channel.data.kind, 'api#channel');
    assert.equal(channel.data.id, 'conformance-channel');
    assert.ok(channel.data.resourceId);
    await waitFor(1);
    const sync = received[0].headers;
    assert.equal(sync['x-goog-resource-state'], 'sync');
    assert.equal(sync['x-goog-message-number'], '1');
    assert.equal(sync['x-goog-channel-id'], 'conformance-channel');
    assert.equal(sync['x-goog-channel-token'], 'verify-me');
    assert.equal(sync['x-goog-resource-id'], channel.data.resourceId);
    assert.match(sync['user-agent'], /^APIs-Google/);
    assert.equal(received[0].body, '');

    await cal.events.insert({calendarId: 'primary', requestBody: consultation(11)});
    await waitFor(2);
    assert.equal(received[1].headers['x-goog-resource-state'], 'exists');
    assert.ok(Number(received[1].headers['x-goog-message-number']) > 1);

    const stopped = await cal.channels.stop({requestBody: {
      id: 'conformance-channel', resourceId: channel.data.resourceId,
    }});
    assert.ok(stopped.status === 204 || stopped.status === 200);
    await cal.events.insert({calendarId: 'primary', requestBody: consultation(13)});
    await new Promise(resolve => setTimeout(resolve, 300));
    assert.equal(received.length, 2, 'no notification after channels.stop');
  } finally {
    server.close();
  }
});

test('quota errors reach the client as Google shapes them', async () => {
  await control('POST', 'reset');
  const client = newOAuthClient();
  await authorize(client);
  const cal = calendarFor(client);
  await control('PUT', 'quotas', {perUser: 2});
  await cal.calendars.get({calendarId: 'primary'});
  await cal.calendars.get({calendarId: 'primary'});
  await expectApiError(cal.calendars.get({calendarId: 'primary'}, {retry: false}), 403,
                       'userRateLimitExceeded');
});
