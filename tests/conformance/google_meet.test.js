// Conformance of fake-google's Meet REST v2 side with Google's official Node client
// (@googleapis/meet, with google-auth-library's OAuth2Client), pointed at the emulator with
// rootUrl (google-protocol.md §13, §16): Meet scopes granted incrementally, spaces get and
// patch, conference records by meeting code, participants and sessions with paging, and
// errors in Google's google.rpc.Status shape.
//
//   FAKE_GOOGLE_BIN=build/debug/emulator/server/fake-google node --test tests/conformance/
'use strict';

const {test, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {OAuth2Client, CodeChallengeMethod} = require('google-auth-library');
const {calendar: calendarApi} = require('@googleapis/calendar');
const {meet: meetApi} = require('@googleapis/meet');
const {startFakeGoogle} = require('./fake_google');

const CLIENT_ID = 'meet-conformance.apps.googleusercontent.com';
const CLIENT_SECRET = 'meet-conformance-secret';
const REDIRECT_URI = 'http://127.0.0.1:1/oauth/callback';  // never followed: we read Location
const DOCTOR = 'doctor@example.com';
const DOCTOR_SUB = '100000000000000000001';
const NURSE = 'nurse@example.com';
const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const MEET_READONLY = 'https://www.googleapis.com/auth/meetings.space.readonly';
const MEET_SETTINGS = 'https://www.googleapis.com/auth/meetings.space.settings';

// The binary runs on the wall clock and drops records 30 days after their end, so conferences
// happen yesterday (DAY) and the day before (DAY_BEFORE).
const dayOffset = n => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
const DAY = dayOffset(1);
const DAY_BEFORE = dayOffset(2);
const NEXT_DAY = dayOffset(0);

let google;
let base;

before(async () => {
  google = await startFakeGoogle([
    '--client', `${CLIENT_ID}:${CLIENT_SECRET}:${REDIRECT_URI}`,
    '--account', `${DOCTOR}:Dr Who:${DOCTOR_SUB}`,
    '--account', `${NURSE}:Nurse Joy`,
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

function newOAuthClient() {
  return new OAuth2Client({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    endpoints: {
      oauth2AuthBaseUrl: base + '/o/oauth2/v2/auth',
      oauth2TokenUrl: base + '/token',
      oauth2RevokeUrl: base + '/revoke',
      tokenInfoUrl: base + '/tokeninfo',
    },
  });
}

// The authorization-code flow with PKCE, approved without a browser (auto-approve + login_hint).
async function authorize(client, {email = DOCTOR, scope, includeGranted = false}) {
  await control('PATCH', 'settings', {autoApprove: true});
  const {codeVerifier, codeChallenge} = await client.generateCodeVerifierAsync();
  const url = client.generateAuthUrl({
    access_type: 'offline',
    scope,
    login_hint: email,
    include_granted_scopes: includeGranted,
    code_challenge_method: CodeChallengeMethod.S256,
    code_challenge: codeChallenge,
  });
  const res = await fetch(url, {redirect: 'manual'});
  assert.equal(res.status, 302);
  const params = new URL(res.headers.get('location')).searchParams;
  const {tokens} = await client.getToken({code: params.get('code'), codeVerifier});
  client.setCredentials(tokens);
  return tokens;
}

const meetFor = auth => meetApi({version: 'v2', auth, rootUrl: base + '/'});
const calendarFor = auth => calendarApi({version: 'v3', auth, rootUrl: base + '/'});

// A Calendar event with a Meet conference on the doctor's calendar: its meeting code.
async function meetEvent(auth, requestId) {
  const {data} = await calendarFor(auth).events.insert({
    calendarId: 'primary',
    conferenceDataVersion: 1,
    requestBody: {
      summary: 'Consultation',
      start: {dateTime: `${DAY}T10:00:00Z`},
      end: {dateTime: `${DAY}T10:30:00Z`},
      conferenceData: {createRequest: {requestId, conferenceSolutionKey: {type: 'hangoutsMeet'}}},
    },
  });
  assert.match(data.conferenceData.conferenceId, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  return data.conferenceData.conferenceId;
}

// A doctor connected with Calendar first, then Meet added by incremental authorization.
async function connectedDoctor() {
  await control('POST', 'reset');
  const client = newOAuthClient();
  await authorize(client, {scope: [CALENDAR_SCOPE]});
  const tokens = await authorize(client, {
    scope: [MEET_READONLY, MEET_SETTINGS], includeGranted: true,
  });
  return {client, tokens};
}

async function expectRpcError(promise, status, rpcStatus) {
  await assert.rejects(promise, err => {
    assert.equal(err.status ?? err.response?.status, status, err.message);
    const body = err.response?.data?.error;
    assert.equal(body?.code, status, JSON.stringify(err.response?.data));
    assert.equal(body?.status, rpcStatus, JSON.stringify(err.response?.data));
    assert.equal(body?.errors, undefined, 'Meet errors have no Calendar errors[] list');
    return true;
  });
}

// All pages of a list call: the items under `key` and the number of pages read.
async function allPages(call, params, key) {
  const items = [];
  let pageToken;
  let pages = 0;
  do {
    const {data} = await call({...params, pageToken});
    items.push(...(data[key] ?? []));
    pageToken = data.nextPageToken;
    pages += 1;
  } while (pageToken && pages < 20);
  return {items, pages};
}

// ---- tests -----------------------------------------------------------------------------------

test('incremental authorization adds Meet scopes to the Calendar grant', async () => {
  const {tokens} = await connectedDoctor();
  assert.deepEqual(tokens.scope.split(' ').sort(),
                   [CALENDAR_SCOPE, MEET_READONLY, MEET_SETTINGS].sort());
  // The Meet scopes were new: the second consent gave a refresh token that covers them.
  assert.ok(tokens.refresh_token);
});

test('spaces: get by meeting code and by name, patch accessType with updateMask', async () => {
  const {client} = await connectedDoctor();
  const code = await meetEvent(client, 'space-1');
  const meet = meetFor(client);

  const {data: byCode} = await meet.spaces.get({name: `spaces/${code}`});
  assert.match(byCode.name, /^spaces\/[A-Za-z0-9]+$/);
  assert.equal(byCode.meetingCode, code);
  assert.equal(byCode.meetingUri, `https://meet.google.com/${code}`);
  assert.equal(byCode.config.accessType, 'TRUSTED');
  const {data: byName} = await meet.spaces.get({name: byCode.name});
  assert.deepEqual(byName, byCode);

  const {data: patched} = await meet.spaces.patch({
    name: byCode.name,
    updateMask: 'config.accessType',
    requestBody: {config: {accessType: 'RESTRICTED'}},
  });
  assert.equal(patched.config.accessType, 'RESTRICTED');
  assert.equal(patched.config.entryPointAccess, 'ALL');
  const {data: after} = await meet.spaces.get({name: `spaces/${code}`});
  assert.equal(after.config.accessType, 'RESTRICTED');
});

test('conference records by meeting code, participants and sessions with paging', async () => {
  const {client} = await connectedDoctor();
  const code = await meetEvent(client, 'records-1');
  const other = await meetEvent(client, 'records-2');
  // An earlier conference in the same space, one in another space, then the consultation:
  // the doctor joins twice, the patient (not signed in) once, a phone caller once.
  await control('POST', `meet/spaces/${code}/hold`,
                {minutes: 5, startTime: `${DAY_BEFORE}T09:00:00Z`});
  await control('POST', `meet/spaces/${other}/hold`, {startTime: `${DAY}T08:00:00Z`});
  await control('POST', `meet/spaces/${code}/conference`, {
    participants: [
      {kind: 'signedIn', email: DOCTOR, sessions: [
        {startTime: `${DAY}T10:00:00Z`, endTime: `${DAY}T10:05:00Z`},
        {startTime: `${DAY}T10:06:00Z`, endTime: `${DAY}T10:28:00Z`},
        {startTime: `${DAY}T10:29:00Z`, endTime: `${DAY}T10:30:00Z`},
      ]},
      {kind: 'anonymous', displayName: 'Mary Seacole', sessions: [
        {startTime: `${DAY}T10:02:00Z`, endTime: `${DAY}T10:28:00Z`},
      ]},
      {kind: 'phone', displayName: '+44 *** *** 123', sessions: [
        {startTime: `${DAY}T10:10:00Z`, endTime: `${DAY}T10:12:00Z`},
      ]},
    ],
  });
  const meet = meetFor(client);

  const {data: list} = await meet.conferenceRecords.list({
    filter: `space.meeting_code = "${code}"`,
  });
  assert.equal(list.conferenceRecords.length, 2);
  const [latest, earlier] = list.conferenceRecords;  // newest first
  assert.equal(latest.startTime, `${DAY}T10:00:00Z`);
  assert.equal(latest.endTime, `${DAY}T10:30:00Z`);
  assert.ok(latest.expireTime);
  assert.equal(earlier.startTime, `${DAY_BEFORE}T09:00:00Z`);
  const {data: space} = await meet.spaces.get({name: `spaces/${code}`});
  assert.equal(latest.space, space.name);
  const {data: one} = await meet.conferenceRecords.get({name: latest.name});
  assert.deepEqual(one, latest);

  const {data: ranged} = await meet.conferenceRecords.list({
    filter: `start_time>="${DAY}T00:00:00.000Z" AND start_time<="${NEXT_DAY}T00:00:00.000Z"`,
  });
  assert.equal(ranged.conferenceRecords.length, 2);  // this one and the other space's

  // Participants one per page: three pages, newest join first.
  const participants = await allPages(
      p => meet.conferenceRecords.participants.list(p),
      {parent: latest.name, pageSize: 1}, 'participants');
  assert.equal(participants.pages, 3);
  assert.deepEqual(participants.items.map(p => Object.keys(p).find(k => k.endsWith('User'))),
                   ['phoneUser', 'anonymousUser', 'signedinUser']);
  const doctor = participants.items[2];
  assert.equal(doctor.signedinUser.user, `users/${DOCTOR_SUB}`);
  assert.equal(doctor.signedinUser.displayName, 'Dr Who');
  assert.equal(doctor.earliestStartTime, `${DAY}T10:00:00Z`);
  assert.equal(doctor.latestEndTime, `${DAY}T10:30:00Z`);
  assert.equal(participants.items[1].anonymousUser.displayName, 'Mary Seacole');

  // The doctor's sessions two per page: two pages, newest first.
  const sessions = await allPages(
      p => meet.conferenceRecords.participants.participantSessions.list(p),
      {parent: doctor.name, pageSize: 2}, 'participantSessions');
  assert.equal(sessions.pages, 2);
  assert.deepEqual(sessions.items.map(s => [s.startTime, s.endTime]), [
    [`${DAY}T10:29:00Z`, `${DAY}T10:30:00Z`],
    [`${DAY}T10:06:00Z`, `${DAY}T10:28:00Z`],
    [`${DAY}T10:00:00Z`, `${DAY}T10:05:00Z`],
  ]);
  const {data: session} = await meet.conferenceRecords.participants.participantSessions.get({
    name: sessions.items[0].name,
  });
  assert.deepEqual(session, sessions.items[0]);
});

test('a running conference: end_time IS NULL, open sessions, active conference', async () => {
  const {client} = await connectedDoctor();
  const code = await meetEvent(client, 'running-1');
  const joined = await control('POST', `meet/spaces/${code}/join`, {
    participant: {kind: 'signedIn', email: DOCTOR}, time: `${DAY}T10:00:00Z`,
  });
  await control('POST', `meet/spaces/${code}/join`, {
    participant: {kind: 'anonymous', displayName: 'Mary'}, time: `${DAY}T10:01:00Z`,
  });
  await control('POST', `meet/spaces/${code}/leave`, {
    participant: {kind: 'anonymous', displayName: 'Mary'}, time: `${DAY}T10:09:00Z`,
  });
  const meet = meetFor(client);

  const {data: running} = await meet.conferenceRecords.list({
    filter: `space.meeting_code = "${code}" AND end_time IS NULL`,
  });
  assert.equal(running.conferenceRecords.length, 1);
  assert.equal(running.conferenceRecords[0].name, joined.conferenceRecord);
  assert.equal(running.conferenceRecords[0].endTime, undefined);
  const {data: space} = await meet.spaces.get({name: `spaces/${code}`});
  assert.equal(space.activeConference.conferenceRecord, joined.conferenceRecord);

  const {data: inCall} = await meet.conferenceRecords.participants.list({
    parent: joined.conferenceRecord, filter: 'latest_end_time IS NULL',
  });
  assert.equal(inCall.participants.length, 1);
  assert.equal(inCall.participants[0].name, joined.participant);

  await control('POST', `meet/spaces/${code}/end`, {time: `${DAY}T10:20:00Z`});
  const {data: ended} = await meet.conferenceRecords.get({name: joined.conferenceRecord});
  assert.equal(ended.endTime, `${DAY}T10:20:00Z`);
  const {data: last} = await meet.conferenceRecords.participants.participantSessions.get({
    name: joined.participantSession,
  });
  assert.equal(last.endTime, `${DAY}T10:20:00Z`);
});

test('errors: missing scope, not the owner, unknown space, bad filter', async () => {
  await control('POST', 'reset');
  // A doctor with Calendar only: Meet answers 403 PERMISSION_DENIED (insufficient scopes).
  const calendarOnly = newOAuthClient();
  await authorize(calendarOnly, {scope: [CALENDAR_SCOPE]});
  const code = await meetEvent(calendarOnly, 'errors-1');
  await assert.rejects(meetFor(calendarOnly).conferenceRecords.list({}), err => {
    assert.equal(err.response.status, 403);
    const e = err.response.data.error;
    assert.equal(e.status, 'PERMISSION_DENIED');
    assert.equal(e.message, 'Request had insufficient authentication scopes.');
    assert.equal(e.details[0].reason, 'ACCESS_TOKEN_SCOPE_INSUFFICIENT');
    const headers = err.response.headers;
    const www = typeof headers.get === 'function' ? headers.get('www-authenticate')
                                                  : headers['www-authenticate'];
    assert.match(www, /insufficient_scope/);
    return true;
  });

  // The doctor adds Meet; a nurse (not the owner) may read the space but not its settings.
  const doctor = newOAuthClient();
  await authorize(doctor, {scope: [MEET_READONLY, MEET_SETTINGS], includeGranted: true});
  const {data: space} = await meetFor(doctor).spaces.get({name: `spaces/${code}`});
  const nurse = newOAuthClient();
  await authorize(nurse, {email: NURSE, scope: [MEET_READONLY, MEET_SETTINGS]});
  const {data: seen} = await meetFor(nurse).spaces.get({name: space.name});
  assert.equal(seen.config, undefined);
  await expectRpcError(meetFor(nurse).spaces.patch({
    name: space.name, updateMask: 'config.accessType',
    requestBody: {config: {accessType: 'OPEN'}},
  }), 403, 'PERMISSION_DENIED');

  await expectRpcError(meetFor(doctor).spaces.get({name: 'spaces/zzz-zzzz-zzz'}), 404,
                       'NOT_FOUND');
  await expectRpcError(meetFor(doctor).conferenceRecords.get({name: 'conferenceRecords/nope'}),
                       404, 'NOT_FOUND');
  await expectRpcError(meetFor(doctor).spaces.patch({
    name: space.name, updateMask: 'config.accessType',
    requestBody: {config: {accessType: 'EVERYONE'}},
  }), 400, 'INVALID_ARGUMENT');
  await expectRpcError(meetFor(doctor).conferenceRecords.list({filter: 'participant = "x"'}),
                       400, 'INVALID_ARGUMENT');

  // No token at all: 401 UNAUTHENTICATED.
  const res = await fetch(`${base}/v2/spaces/${code}`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.status, 'UNAUTHENTICATED');
});
