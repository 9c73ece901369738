// The web UI in a real browser: the real `telemeet serve` in sandbox mode, headless Chromium.
// Sign-in (wrong password, throttling), an admin changing a setting (and seeing it in the audit),
// an appointment's history, a doctor connecting Google
// through the emulator's consent page, an appointment booked over the REST API showing
// "Start Google Meet" to the doctor and "Join Google Meet" to the patient, a reschedule keeping
// the link, a weekly series listed on the doctor's page and cancelled there, a revoked grant showing the reconnect banner, the sandbox banner on every page (the
// connect flow's callback pages too),
// the doctor's next free times (a private Google event taking one away), the booking policy,
// a series booked from the doctor's page (once on a double click), a meeting refreshed from
// Google (and the rate limit's wait), the booking system's ids in the admin pages, attendance
// from Google Meet (the admin's policies, the doctor allowing it, a held consultation shown as
// attended on both pages),
// axe-core on every page, 375 px layouts, and a timed newcomer walkthrough.
//
//   TELEMEET_BIN=build/debug/src/app/telemeet node --test tests/browser/
'use strict';

const {test, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {startTelemeet, launchChromium, newPage, assertNoProblems, screenshot, checkA11y,
       fitsWidth, waitFor} = require('./support');

// The demo passwords are random per data dir: filled in from what the server prints at start.
const ADMIN = {email: 'admin@sandbox.telemeet.test', password: ''};
const ADA = {email: 'dr.ada.lovelace@sandbox.telemeet.test', password: '',
             name: 'Dr Ada Lovelace'};
const BARRY = {email: 'dr.james.barry@sandbox.telemeet.test', password: '',
               name: 'Dr James Barry'};
const BANNER = 'Sandbox: Google is emulated';

let tm;
let browser;
let doctors;   // by email
let service;   // the demo telemedicine service
const visited = new Map();  // page label -> URL, for the banner and axe checks

before(async () => {
  // Attendance is read as soon as a consultation ends (not ten minutes after), for its test.
  tm = await startTelemeet(['--set', 'attendance.grace_minutes=0',
                            '--set', 'attendance.poll_interval_minutes=1']);
  for (const who of [ADMIN, ADA, BARRY]) {
    who.password = tm.signIns.get(who.email);
    assert.ok(who.password, `telemeet printed the demo sign-in of ${who.email}`);
  }
  browser = await launchChromium();
  const list = await tm.api('GET', '/api/v1/doctors');
  assert.equal(list.status, 200);
  doctors = new Map(list.body.data.map(d => [d.email, d]));
  service = (await tm.api('GET', '/api/v1/services')).body.data.find(s => s.telemedicine);
  assert.ok(service, 'the demo clinic has a telemedicine service');
});

after(async () => {
  if (browser) await browser.close();
  if (tm) await tm.stop();
});

async function signIn(page, who) {
  await page.goto(tm.base + '/signin');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', {name: 'Sign in'}).click();
}

// Books a confirmed appointment over the REST API; the created appointment.
async function book(doctor, startIso, zone) {
  const patient = await tm.api('POST', '/api/v1/patients', {
    name: 'Mary Seacole', email: 'mary@patients.example', time_zone: zone,
  });
  assert.equal(patient.status, 201, JSON.stringify(patient.body));
  const created = await tm.api('POST', '/api/v1/appointments', {
    doctor_id: doctor.id, service_id: service.id, patient_id: patient.body.id,
    start: startIso, time_zone: zone, status: 'confirmed',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

async function awaitMeeting(id, done, what) {
  return waitFor(async () => {
    const a = (await tm.api('GET', '/api/v1/appointments/' + id)).body;
    return done(a.meeting) ? a : null;
  }, 30000, what);
}

// A whole hour a few days ahead, as RFC 3339.
function hoursAhead(h) {
  const t = new Date(Date.now() + h * 3600e3);
  t.setUTCMinutes(0, 0, 0);
  return t.toISOString().replace('.000Z', 'Z');
}

test('a wrong password is refused with a plain message', async () => {
  const page = await newPage(browser);
  await signIn(page, {email: ADMIN.email, password: 'not the password'});
  const alert = page.getByRole('alert');
  await assert.doesNotReject(alert.getByText('Wrong email or password').waitFor());
  assert.equal(new URL(page.url()).pathname, '/signin');
  assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'signin-wrong-password');
  assertNoProblems(page);
  await page.context().close();
});

test('repeated failures slow the account down, and the page says so', async () => {
  // A throwaway admin, so the demo sign-ins stay usable.
  const login = await fetch(tm.base + '/api/v1/session', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(ADMIN),
  });
  assert.equal(login.status, 201);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const {csrf_token: csrf} = await login.json();
  const made = await fetch(tm.base + '/api/v1/users', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Cookie: cookie, 'X-CSRF-Token': csrf},
    body: JSON.stringify({email: 'locked@sandbox.telemeet.test', password: 'right password 1',
                          role: 'admin', name: 'Lock Test'}),
  });
  assert.equal(made.status, 201, await made.text());

  const page = await newPage(browser);
  for (let i = 0; i < 5; i++) {
    await signIn(page, {email: 'locked@sandbox.telemeet.test', password: 'wrong ' + i});
    await page.getByRole('alert').getByText('Wrong email or password').waitFor();
  }
  await signIn(page, {email: 'locked@sandbox.telemeet.test', password: 'right password 1'});
  await page.getByRole('alert').getByText('Please wait').waitFor();
  assert.match(await page.getByRole('alert').textContent(),
               /too many failed sign-ins for this account; try again in \d+ seconds/);
  assert.equal(new URL(page.url()).pathname, '/signin');
  await screenshot(page, 'signin-locked');
  assertNoProblems(page);
  await page.context().close();
});

test('a doctor connects Google through the consent page and lands back connected', async () => {
  const page = await newPage(browser);
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  await page.getByText('Not connected').waitFor();
  visited.set('doctor (not connected)', page.url());
  await screenshot(page, 'doctor-not-connected');
  // Deny first: a telemeet page (the app's look, the sandbox banner) says so and leads back.
  await page.getByRole('button', {name: 'Connect Google', exact: true}).click();
  await page.waitForURL(u => u.toString().startsWith(tm.google));
  await page.getByRole('button', {name: 'Deny'}).click();
  await page.getByRole('heading', {name: 'Google access was not allowed'}).waitFor();
  assert.equal(new URL(page.url()).pathname, '/oauth/google/callback');
  const banner = page.locator('.sandbox-banner');
  assert.match(await banner.textContent(), new RegExp(BANNER));
  assert.equal(await banner.isVisible(), true);
  // The stylesheet is applied (the page's CSP lets it load).
  assert.equal(await banner.evaluate(e => getComputedStyle(e).backgroundColor),
               'rgb(255, 244, 214)');
  await checkA11y(page, 'connect denied');
  await screenshot(page, 'connect-denied');
  await page.setViewportSize({width: 375, height: 800});
  assert.equal(await fitsWidth(page), true, 'connect denied fits 375px');
  await screenshot(page, 'connect-denied-375px');
  // Opened again, the used link has its own page: checked with the others below.
  visited.set('connect callback (used link)', page.url());
  await page.getByRole('link', {name: 'Back to your page'}).click();
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  await page.getByText('Not connected').waitFor();
  await page.getByRole('button', {name: 'Connect Google', exact: true}).click();
  await page.waitForURL(u => u.toString().startsWith(tm.google));
  await page.getByLabel(`${ADA.name} (${ADA.email})`).check();
  await screenshot(page, 'emulator-consent');
  await page.getByRole('button', {name: 'Allow'}).click();
  await page.waitForURL(u => u.toString().startsWith(tm.base + '/doctor'));
  await page.getByText('Google Calendar is connected').waitFor();
  await page.locator('.badge.ok', {hasText: 'Connected'}).waitFor();
  assert.match(await page.locator('#google-state').textContent(), new RegExp(ADA.email));
  assert.equal(await page.locator('#reconnect-banner').isHidden(), true);
  await screenshot(page, 'doctor-connected');
  assertNoProblems(page);
  const grant = await tm.api('GET', `/api/v1/doctors/${doctors.get(ADA.email).id}/google`);
  assert.equal(grant.body.status, 'active');
  await page.context().close();
});

test('the doctor sees their next free times, checked against Google Calendar', async () => {
  const page = await newPage(browser);
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  const state = page.locator('#free-state');
  await page.locator('#free li').first().waitFor();
  assert.match(await state.textContent(), /checked against your Google Calendar/);
  const firstFree = () => page.locator('#free li').first().getAttribute('data-start');
  const first = await firstFree();
  // The listed times are the API's free slots.
  const now = new Date(Date.now() - 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const later = new Date(Date.now() + 15 * 86400 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const api = await tm.api('GET', `/api/v1/doctors/${doctors.get(ADA.email).id}/availability` +
                                      `?from=${now}&to=${later}`);
  assert.equal(api.status, 200, JSON.stringify(api.body));
  assert.ok(api.body.free.some(f => f.start === first), 'the first listed time is free');
  // The doctor adds a private event over that time in Google Calendar: Google's push drops the
  // cached answer, and the page no longer offers it.
  const end = new Date(Date.parse(first) + 30 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const made = await tm.emulator('POST', `/_emulator/calendars/${encodeURIComponent(ADA.email)}` +
                                             '/events',
                                 {summary: 'Private', start: {dateTime: first},
                                  end: {dateTime: end}});
  assert.equal(made.status, 200, JSON.stringify(made.body));
  await waitFor(async () => {
    await page.reload();
    await page.locator('#free li').first().waitFor();
    return (await firstFree()) !== first;
  }, 15000, 'the busy time to leave the free list');
  await checkA11y(page, 'doctor (free times)');
  assertNoProblems(page);
  await page.context().close();
});

let booked;  // the appointment of the next tests
let joinUrl;

test('an appointment booked over the API shows Start/Join Google Meet with the emulator link',
     async () => {
  booked = await book(doctors.get(ADA.email), hoursAhead(50), 'America/New_York');
  const ready = await awaitMeeting(booked.id, m => m.state === 'ready' && m.join_url,
                                   'the Meet link');
  joinUrl = ready.meeting.join_url;
  assert.match(joinUrl, /^https:\/\/meet\.google\.com\//);

  const doctorPage = await newPage(browser);
  await signIn(doctorPage, ADA);
  await doctorPage.waitForURL(u => new URL(u).pathname === '/doctor');
  const start = doctorPage.getByRole('link', {name: 'Start Google Meet'});
  await start.waitFor();
  assert.equal(await start.getAttribute('href'), joinUrl);
  visited.set('doctor', doctorPage.url());
  await screenshot(doctorPage, 'doctor-start-meet');
  assertNoProblems(doctorPage);
  await doctorPage.context().close();

  const patientPage = await newPage(browser);
  const url = new URL(booked.access_link.url);
  await patientPage.goto(tm.base + url.pathname + url.search);
  const join = patientPage.getByRole('link', {name: 'Join Google Meet'});
  await join.waitFor();
  assert.equal(await join.getAttribute('href'), joinUrl);
  assert.match(await patientPage.locator('#zone').textContent(), /America\/New_York/);
  visited.set('patient', patientPage.url());
  await screenshot(patientPage, 'patient-join');

  // The .ics download carries the same link.
  const ics = await patientPage.evaluate(async () => {
    const r = await fetch(document.getElementById('ics').href);
    return {type: r.headers.get('content-type'), text: await r.text()};
  });
  assert.equal(ics.type, 'text/calendar; charset=utf-8');
  assert.match(ics.text, /BEGIN:VEVENT/);
  assert.ok(ics.text.replace(/\r\n[ \t]/g, '').includes(joinUrl), 'the .ics has the Meet link');
  assertNoProblems(patientPage);
  await patientPage.context().close();
});

test('the patient page says "being prepared" until the link exists', async () => {
  // Barry has not connected: his meeting waits, and the patient sees it honestly.
  const waiting = await book(doctors.get(BARRY.email), hoursAhead(80), 'Europe/Berlin');
  const page = await newPage(browser);
  const url = new URL(waiting.access_link.url);
  await page.goto(tm.base + url.pathname + url.search);
  await page.getByText('Your video link is being prepared').waitFor();
  const button = page.getByRole('button', {name: 'Join Google Meet'});
  assert.equal(await button.isDisabled(), true);
  assert.equal(await page.getByRole('link', {name: 'Join Google Meet'}).count(), 0);
  visited.set('patient (being prepared)', page.url());
  await screenshot(page, 'patient-being-prepared');
  assertNoProblems(page);
  await page.context().close();
  await tm.api('POST', `/api/v1/appointments/${waiting.id}/cancel`, {});
});

test('a reschedule moves the time and keeps the link', async () => {
  assert.ok(booked && joinUrl, 'the booking test ran');
  const moved = await tm.api('POST', `/api/v1/appointments/${booked.id}/reschedule`,
                             {start: hoursAhead(74)});
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  await waitFor(async () => {
    const audit = (await tm.api('GET', `/api/v1/appointments/${booked.id}/audit`)).body;
    return JSON.stringify(audit).includes('google.events.patch');
  }, 30000, 'the event patch');
  const after = await awaitMeeting(booked.id, m => m.state === 'ready', 'ready again');
  assert.equal(after.meeting.join_url, joinUrl);

  const page = await newPage(browser);
  const url = new URL(booked.access_link.url);
  await page.goto(tm.base + url.pathname + url.search);
  const join = page.getByRole('link', {name: 'Join Google Meet'});
  await join.waitFor();
  assert.equal(await join.getAttribute('href'), joinUrl);
  const expected = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(new Date(moved.body.start));
  assert.ok((await page.locator('#when').textContent()).includes(expected),
            'the page shows the new time in the patient\'s zone');
  await screenshot(page, 'patient-rescheduled');
  assertNoProblems(page);
  await page.context().close();
});

test('a weekly series booked over the API is listed with its occurrences; the doctor ' +
     'cancels the rest', async () => {
  const patient = await tm.api('POST', '/api/v1/patients', {
    name: 'Florence Nightingale', email: 'florence@patients.example', time_zone: 'Europe/Berlin',
  });
  assert.equal(patient.status, 201, JSON.stringify(patient.body));
  const created = await tm.api('POST', '/api/v1/appointment_series', {
    doctor_id: doctors.get(ADA.email).id, service_id: service.id, patient_id: patient.body.id,
    start: hoursAhead(100), time_zone: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;COUNT=3',
    confirm: true,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const series = created.body;
  assert.equal(series.occurrences.length, 3);
  await waitFor(async () => {
    const s = (await tm.api('GET', '/api/v1/appointment_series/' + series.id)).body;
    return s.occurrences.every(o => o.meeting.state === 'ready' && o.meeting.join_url) ? s : null;
  }, 30000, 'a Meet link for every occurrence');

  const page = await newPage(browser);
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  const card = page.locator(`[data-series="${series.id}"]`);
  await card.waitFor();
  assert.match(await card.textContent(), /Weekly, 3 times/);
  assert.equal(await card.locator('[data-occurrence]').count(), 3);
  assert.equal(await card.getByRole('link', {name: 'Meet link'}).count(), 3);
  await screenshot(page, 'doctor-series');
  page.once('dialog', dialog => dialog.accept());
  await card.getByRole('button', {name: `Cancel the rest of series #${series.id}`}).click();
  await page.getByText(`Series #${series.id} is cancelled from now on.`).waitFor();
  const after = (await tm.api('GET', '/api/v1/appointment_series/' + series.id)).body;
  assert.equal(after.status, 'cancelled');
  assert.ok(after.occurrences.every(o => o.status === 'cancelled'));
  assertNoProblems(page);
  await page.context().close();
});

// Wall time in `zone` as a datetime-local value (YYYY-MM-DDTHH:MM).
function localValue(date, zone) {
  const parts = {};
  for (const p of new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
    minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(date)) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

// The next last Sunday of March (London's clocks jump from 01:00 to 02:00), as YYYY-MM-DD.
function nextLondonSpringForward() {
  for (let y = new Date().getUTCFullYear(); ; ++y) {
    const d = new Date(Date.UTC(y, 2, 31));
    d.setUTCDate(31 - d.getUTCDay());
    if (d.getTime() > Date.now() + 24 * 3600e3) return d.toISOString().slice(0, 10);
  }
}

test('the doctor books a weekly series from the page: errors name the field, a double click ' +
     'books once', async () => {
  const page = await newPage(browser);
  const keys = [];
  page.on('request', r => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/appointment_series') {
      keys.push(r.headers()['idempotency-key']);
    }
  });
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  const form = page.locator('form', {hasText: 'Book a weekly series'});
  await form.getByLabel('Service').selectOption(String(service.id));
  await form.getByLabel('Patient', {exact: true}).selectOption('new');
  await form.getByLabel('Patient name').fill('Clara Barton');
  await form.getByLabel('Patient email (optional)').fill('clara@patients.example');
  await form.getByLabel('Repeat').selectOption('WEEKLY');

  // Checked here: a count out of range never reaches the API.
  await form.getByLabel('Number of consultations').fill('25');
  await form.getByRole('button', {name: 'Book series'}).click();
  await form.getByText('The number of consultations is from 2 to 20.').waitFor();
  assert.equal(await form.getByLabel('Number of consultations').getAttribute('aria-invalid'),
               'true');
  assert.equal(keys.length, 0);

  // Refused by the API: 01:30 does not exist in London that day; the answer names the field.
  await form.getByLabel('Number of consultations').fill('3');
  await form.getByLabel('First start (Europe/London)').fill(nextLondonSpringForward() + 'T01:30');
  await form.getByRole('button', {name: 'Book series'}).click();
  await form.getByText(/does not exist in Europe\/London.*\(field: start\)/).waitFor();
  assert.equal(await form.getByLabel('First start (Europe/London)').getAttribute('aria-invalid'),
               'true');

  keys.length = 0;
  const first = localValue(new Date(Date.now() + 10 * 24 * 3600e3), 'Europe/London')
      .slice(0, 11) + '09:00';
  await form.getByLabel('First start (Europe/London)').fill(first);
  await form.getByRole('button', {name: 'Book series'}).dblclick();
  const done = form.getByText(/^Series #\d+ is booked: 3 consultations from /);
  await done.waitFor();
  const id = Number((await done.textContent()).match(/#(\d+)/)[1]);
  assert.ok(keys.length >= 1 && keys.every(k => k && k === keys[0]),
            'every request of one booking carries the same Idempotency-Key: ' + keys);

  const clara = (await tm.api('GET', '/api/v1/patients?limit=100')).body.data
      .filter(p => p.name === 'Clara Barton');
  assert.equal(clara.length, 1, 'one patient made');
  const series = (await tm.api('GET', '/api/v1/appointment_series?limit=100')).body.data
      .filter(x => x.patient_id === clara[0].id);
  assert.equal(series.length, 1, 'one series booked');
  assert.equal(series[0].id, id);
  const s = (await tm.api('GET', '/api/v1/appointment_series/' + id)).body;
  assert.match(s.rrule, /FREQ=WEEKLY/);
  assert.equal(s.mode, 'per_occurrence');
  assert.equal(s.occurrences.length, 3);
  assert.ok(s.occurrences.every(o => o.status === 'confirmed'));
  assert.ok(s.occurrences.every(o => localValue(new Date(o.start), 'Europe/London')
      .endsWith('T09:00')), 'every occurrence at 09:00 London time');
  await page.locator(`[data-series="${id}"]`).waitFor();
  await screenshot(page, 'doctor-series-form');
  assertNoProblems(page);
  await page.context().close();
});

test('the doctor refreshes a consultation\'s meeting from Google; a second press soon after ' +
     'says when to try again', async () => {
  assert.ok(booked && joinUrl, 'the booking test ran');
  await awaitMeeting(booked.id, m => m.state === 'ready' && m.join_url, 'a ready meeting');
  const page = await newPage(browser);
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  const card = page.locator(`[data-appointment="${booked.id}"]`);
  await card.getByRole('button', {name: /^Refresh from Google/}).click();
  await page.getByText(/^Refreshed from Google \(.*\): Google Meet link ready\.$/).waitFor();
  await card.getByRole('button', {name: /^Refresh from Google/}).click();
  await page.getByText(/^Refreshed a moment ago; try again in \d+ s\.$/).waitFor();
  const after = (await tm.api('GET', '/api/v1/appointments/' + booked.id)).body;
  assert.equal(after.meeting.join_url, joinUrl, 'a refresh keeps the link');
  assertNoProblems(page);
  await page.context().close();
});

test('attendance from Google Meet: the admin turns it on, the doctor allows it, and a ' +
     'consultation held in Meet shows as attended on both pages', async () => {
  const admin = await newPage(browser);
  await signIn(admin, ADMIN);
  await admin.waitForURL(u => new URL(u).pathname === '/admin');
  await admin.getByRole('link', {name: 'Meeting policies'}).click();
  const policy = async (label, value) => admin.getByLabel(label).selectOption(value);
  await policy('Attendance from Google Meet', 'complete');
  await policy('Who may join the Meet call without knocking', 'restricted');
  const minutes = admin.getByLabel('Minutes together that count as held');
  assert.equal(await minutes.inputValue(), '5');
  await minutes.fill('-3');
  await admin.getByRole('button', {name: 'Save policies'}).click();
  await admin.locator('#policies-form .status.error', {hasText: 'from 0 to 1440'}).waitFor();
  assert.equal(await minutes.getAttribute('aria-invalid'), 'true');
  await minutes.fill('10');
  await admin.getByRole('button', {name: 'Save policies'}).click();
  await admin.getByText('Saved. New and changed appointments').waitFor();
  await screenshot(admin, 'admin-attendance-policies');

  // The doctor allows the Meet features on Google's consent page (incremental authorization).
  const page = await newPage(browser);
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  const allow = page.getByRole('button', {name: 'Allow attendance and who may join'});
  await allow.waitFor();
  assert.match(await page.locator('#meet-features').textContent(), /does not read attendance/);
  await allow.click();
  await page.waitForURL(u => u.toString().startsWith(tm.google));
  await page.getByLabel(`${ADA.name} (${ADA.email})`).check();
  await page.getByRole('button', {name: 'Allow'}).click();
  await page.waitForURL(u => u.toString().startsWith(tm.base + '/doctor'));
  await page.locator('#meet-features', {hasText: 'attendance and who may join are allowed'})
      .waitFor();
  assert.equal(await allow.isHidden(), true);

  // A consultation that began 25 minutes ago and ends in a few seconds, held 20 minutes in Meet.
  const start = new Date(Date.now() - 25 * 60e3);
  start.setUTCSeconds(0, 0);
  const iso = d => d.toISOString().replace('.000Z', 'Z');
  const patient = await tm.api('POST', '/api/v1/patients',
                               {name: 'Emmy Noether', time_zone: 'Europe/London'});
  assert.equal(patient.status, 201);
  const made = await tm.api('POST', '/api/v1/appointments', {
    doctor_id: doctors.get(ADA.email).id, service_id: service.id, patient_id: patient.body.id,
    start: iso(start), end: iso(new Date(Math.ceil((Date.now() + 12e3) / 1e3) * 1e3)),
    time_zone: 'Europe/London', status: 'confirmed',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const ready = await awaitMeeting(made.body.id, m => m.state === 'ready' && m.join_url,
                                   'the Meet link');
  const code = ready.meeting.join_url.split('/').pop();
  const held = await tm.emulator('POST', `/_emulator/meet/spaces/${code}/hold`,
                                 {minutes: 20, patientName: 'Patient in Meet',
                                  startTime: iso(new Date(start.getTime() + 2 * 60e3))});
  assert.equal(held.status, 201, JSON.stringify(held.body));
  const done = await waitFor(async () => {
    const a = (await tm.api('GET', '/api/v1/appointments/' + made.body.id)).body;
    return a.attendance && a.attendance.state === 'final' ? a : null;
  }, 90000, 'the attendance summary');  // a look that came too early is repeated a minute on
  assert.equal(done.attendance.outcome, 'attended');
  assert.equal(done.status, 'completed');
  assert.equal(done.meeting.access_type.applied, 'restricted');

  // The doctor's recent consultations and the admin's appointment card say so in words.
  await page.reload();
  const recent = page.locator(`#recent [data-appointment="${made.body.id}"]`);
  await recent.getByText(/^Attended: 20 min together \(.*\) · marked completed$/).waitFor();
  await checkA11y(page, 'doctor (recent consultations)');
  await screenshot(page, 'doctor-attendance');
  await admin.getByRole('link', {name: 'Appointments', exact: true}).click();
  const card = admin.locator(`#appointment-list [data-appointment="${made.body.id}"]`);
  await card.getByText(/^Attended: 20 min together/).waitFor();
  await card.getByText('Who may join: invited people only (others knock)').waitFor();
  await checkA11y(admin, 'admin (attendance)');
  await screenshot(admin, 'admin-attendance');

  // Back to the defaults for the tests after this one.
  await admin.getByRole('link', {name: 'Meeting policies'}).click();
  await policy('Attendance from Google Meet', 'off');
  await policy('Who may join the Meet call without knocking', 'default');
  await admin.getByRole('button', {name: 'Save policies'}).click();
  await admin.getByText('Saved. New and changed appointments').waitFor();
  assertNoProblems(page);
  assertNoProblems(admin);
  await page.context().close();
  await admin.context().close();
});

test('a failed meeting shows its reason, and the admin retries it', async () => {
  const ada = doctors.get(ADA.email);
  const set = await tm.emulator('POST', `/_emulator/calendars/${encodeURIComponent(ADA.email)}` +
                                        '/conference', {mode: 'failure'});
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const failing = await book(ada, hoursAhead(98), 'Europe/London');
  const failed = await awaitMeeting(failing.id, m => m.state === 'failed', 'the failure');
  assert.ok(failed.meeting.last_error, 'a failed meeting says why');

  const doctorPage = await newPage(browser);
  await signIn(doctorPage, ADA);
  await doctorPage.waitForURL(u => new URL(u).pathname === '/doctor');
  await doctorPage.locator(`li[data-appointment="${failing.id}"]`)
      .getByText('Meet link: Failed: ' + failed.meeting.last_error).waitFor();
  await doctorPage.context().close();

  await tm.emulator('POST', `/_emulator/calendars/${encodeURIComponent(ADA.email)}/conference`,
                    {mode: 'success'});
  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Meetings needing attention'}).click();
  await page.getByRole('heading', {name: 'Failed (1)'}).waitFor();
  await screenshot(page, 'admin-meetings-failed');
  await page.getByRole('button', {name: `Retry the meeting of appointment ${failing.id}`}).click();
  await page.getByText('Retrying: the meeting is being created again.').waitFor();
  const ready = await awaitMeeting(failing.id, m => m.state === 'ready' && m.join_url,
                                   'the retried meeting');
  assert.match(ready.meeting.join_url, /^https:\/\/meet\.google\.com\//);
  await page.getByText('No meeting needs attention.').waitFor({timeout: 15000});
  assertNoProblems(page);
  await page.context().close();
  await tm.api('POST', `/api/v1/appointments/${failing.id}/cancel`, {});
});

test('an admin adds a doctor with a sign-in, an API key shown once (then revoked), a webhook ' +
     'with its secret, and a service',
     async () => {
  const page = await newPage(browser);
  page.on('dialog', d => d.accept());
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Doctors'}).click();
  const form = page.locator('form', {hasText: 'Add a doctor'});
  await form.getByLabel('Name').fill('Dr Elizabeth Blackwell');
  await form.getByLabel('Email').fill('dr.blackwell@sandbox.telemeet.test');
  await form.getByLabel('Time zone').fill('America/New_York');
  await form.getByLabel('Sign-in password').fill('a long doctor password');
  await form.getByRole('button', {name: 'Add doctor'}).click();
  await page.getByText('Dr Elizabeth Blackwell was added with a sign-in.').waitFor();
  await page.locator('li.card', {hasText: 'Dr Elizabeth Blackwell'})
      .getByText('Google not connected').waitFor();

  const doctor = await newPage(browser);
  await signIn(doctor, {email: 'dr.blackwell@sandbox.telemeet.test',
                        password: 'a long doctor password'});
  await doctor.getByRole('heading', {name: 'Consultations of Dr Elizabeth Blackwell'}).waitFor();
  await doctor.getByText('No upcoming consultations.').waitFor();
  assertNoProblems(doctor);
  await doctor.context().close();

  await page.getByRole('link', {name: 'API keys'}).click();
  const keyForm = page.locator('form', {hasText: 'Create an API key'});
  await keyForm.getByLabel('Name').fill('front desk');
  await keyForm.getByLabel('write').uncheck();
  await keyForm.getByRole('button', {name: 'Create API key'}).click();
  const secret = page.getByRole('textbox', {name: 'New API key', exact: true});
  await secret.waitFor();
  const key = await secret.inputValue();
  assert.match(key, /^tm_/);
  const use = async () => (await fetch(tm.base + '/api/v1/doctors',
                                       {headers: {Authorization: 'Bearer ' + key}})).status;
  assert.equal(await use(), 200);
  await page.getByRole('button', {name: 'Revoke API key front desk'}).click();
  await page.locator('li.card', {hasText: 'front desk'}).getByText(/^Revoked/).waitFor();
  assert.equal(await use(), 401);
  // Shown once: the list never shows the secret again.
  assert.equal(await page.getByText(key).count(), 0);

  await page.getByRole('link', {name: 'Webhooks'}).click();
  const hookForm = page.locator('form', {hasText: 'Add a webhook endpoint'});
  // A name: a literal internal address (127.0.0.1) is refused unless webhooks.allowed_hosts
  // lists it, and this one's deliveries are blocked when they connect.
  await hookForm.getByLabel('URL').fill('http://localhost:9/telemeet-hook');
  await hookForm.getByLabel('meeting.ready').check();
  await hookForm.getByRole('button', {name: 'Add webhook'}).click();
  const whsec = page.getByRole('textbox', {name: 'Signing secret', exact: true});
  await whsec.waitFor();
  assert.match(await whsec.inputValue(), /^whsec_/);
  const hookCard = page.locator('li.card', {hasText: 'http://localhost:9/telemeet-hook'});
  await hookCard.getByText('meeting.ready').waitFor();
  // A new signing secret, shown once; the old one keeps signing through the grace period.
  const first = await whsec.inputValue();
  await hookCard.getByRole('button', {name: /^Rotate secret of webhook/}).click();
  const rotated = hookCard.getByRole('textbox', {name: 'New signing secret', exact: true});
  await rotated.waitFor();
  assert.match(await rotated.inputValue(), /^whsec_/);
  assert.notEqual(await rotated.inputValue(), first);
  await hookCard.getByText(/signature with v1 for this secret and for the old one until/i)
      .waitFor();

  await page.getByRole('link', {name: 'Services'}).click();
  const add = page.locator('form', {hasText: 'Add a service'});
  await add.getByLabel('Name').fill('Home visit');
  await add.getByLabel(/^Telemedicine/).uncheck();
  await add.getByLabel('Duration (minutes)').fill('45');
  await add.getByRole('button', {name: 'Add service'}).click();
  const saved = page.locator('form', {has: page.getByRole('heading', {name: 'Home visit'})});
  await saved.waitFor();
  assert.equal(await saved.getByLabel(/^Telemedicine/).isChecked(), false);
  assert.equal(await saved.getByLabel('Duration (minutes)').inputValue(), '45');
  const services = (await tm.api('GET', '/api/v1/services')).body.data;
  const home = services.find(x => x.name === 'Home visit');
  assert.equal(home.telemedicine, false);
  assert.equal(home.default_duration_minutes, 45);
  assertNoProblems(page);
  await page.context().close();
});

test('an admin sets the booking system\'s ids of a doctor and a service and sees them, and a ' +
     'patient\'s, where they are listed', async () => {
  const patient = await tm.api('POST', '/api/v1/patients', {
    name: 'Edith Cavell', time_zone: 'Europe/London', external_ref: 'kivicare:patient:7',
  });
  assert.equal(patient.status, 201, JSON.stringify(patient.body));
  const appointment = await tm.api('POST', '/api/v1/appointments', {
    doctor_id: doctors.get(BARRY.email).id, service_id: service.id, patient_id: patient.body.id,
    start: hoursAhead(150), time_zone: 'Europe/London',
  });
  assert.equal(appointment.status, 201, JSON.stringify(appointment.body));

  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.locator(`[data-appointment="${appointment.body.id}"]`)
      .getByText(/Edith Cavell · External ID kivicare:patient:7/).waitFor();

  await page.getByRole('link', {name: 'Doctors'}).click();
  const form = page.locator('form', {hasText: 'Add a doctor'});
  await form.getByLabel('Name').fill('Dr Mary Walker');
  await form.getByLabel('Email').fill('dr.walker@sandbox.telemeet.test');
  await form.getByLabel('Time zone').fill('America/New_York');
  await form.getByLabel('External ID (your booking system\'s)').fill('kivicare:doctor:99');
  await form.getByRole('button', {name: 'Add doctor'}).click();
  await page.getByText('Dr Mary Walker was added.').waitFor();
  await page.locator('li.card', {hasText: 'Dr Mary Walker'})
      .getByText(/External ID kivicare:doctor:99/).waitFor();
  const found = await tm.api('GET', '/api/v1/doctors?external_ref=kivicare%3Adoctor%3A99');
  assert.equal(found.body.data.length, 1);
  assert.equal(found.body.data[0].name, 'Dr Mary Walker');

  await page.getByRole('link', {name: 'Services'}).click();
  const add = page.locator('form', {hasText: 'Add a service'});
  await add.getByLabel('Name').fill('Follow-up call');
  await add.getByLabel('External ID (your booking system\'s)').fill('kivicare:service:5');
  await add.getByRole('button', {name: 'Add service'}).click();
  const saved = page.locator('form', {has: page.getByRole('heading', {name: 'Follow-up call'})});
  await saved.getByText('External ID kivicare:service:5').waitFor();
  assert.equal(await saved.getByLabel('External ID (your booking system\'s)').inputValue(),
               'kivicare:service:5');
  const svc = await tm.api('GET', '/api/v1/services?external_ref=kivicare%3Aservice%3A5');
  assert.equal(svc.body.data.length, 1);
  assert.equal(svc.body.data[0].name, 'Follow-up call');
  // Saving another field leaves the id alone.
  await saved.getByLabel('Duration (minutes)').fill('20');
  await saved.getByRole('button', {name: 'Save service Follow-up call'}).click();
  await saved.getByText('Saved Follow-up call.').waitFor();
  const again = (await tm.api('GET', '/api/v1/services/' + svc.body.data[0].id)).body;
  assert.equal(again.external_ref, 'kivicare:service:5');
  assert.equal(again.default_duration_minutes, 20);
  assertNoProblems(page);
  await page.context().close();
});

test('an admin signs in and changes a meeting policy', async () => {
  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Meeting policies'}).click();
  const sendUpdates = page.getByLabel("Google's own invitation emails (sendUpdates)");
  assert.equal(await sendUpdates.inputValue(), 'none');
  await sendUpdates.selectOption('externalOnly');
  await page.getByRole('button', {name: 'Save policies'}).click();
  await page.getByText('Saved. New and changed appointments').waitFor();
  await page.reload();
  await page.getByRole('button', {name: 'Save policies'}).waitFor();
  assert.equal(await page.getByLabel("Google's own invitation emails (sendUpdates)").inputValue(),
               'externalOnly');
  // The booking policy for a busy Google Calendar: refuse, saved and shown again; back to warn.
  const googleBusy = page.getByLabel("When the doctor's Google Calendar is busy at the booked time");
  assert.equal(await googleBusy.inputValue(), 'warn');
  await googleBusy.selectOption('refuse');
  await page.getByRole('button', {name: 'Save booking policy'}).click();
  await page.getByText('Saved. Bookings and reschedules follow this policy').waitFor();
  assert.equal((await tm.api('GET', '/api/v1/settings/booking')).status, 403);  // admins only
  await page.reload();
  await page.getByRole('button', {name: 'Save booking policy'}).waitFor();
  assert.equal(await page.getByLabel("When the doctor's Google Calendar is busy at the booked time")
                   .inputValue(), 'refuse');
  await page.getByLabel("When the doctor's Google Calendar is busy at the booked time")
      .selectOption('warn');
  await page.getByRole('button', {name: 'Save booking policy'}).click();
  await page.getByText('Saved. Bookings and reschedules follow this policy').waitFor();
  // Patient invitations and the event's reminders (issue 16); "All guests" says when it matters.
  assert.match(await page.locator('#policy-send-updates option[value="all"]').textContent(),
               /only with patient invitations on/);
  assert.match(await page.locator('#policy-send-updates-hint').textContent(),
               /only matter with patient invitations on/);
  const invite = page.getByLabel('Invite the patient to the Google event');
  assert.equal(await invite.isChecked(), false);
  await invite.check();
  const reminders = page.getByLabel('Event reminders');
  assert.equal(await reminders.inputValue(), 'default');
  await reminders.fill('sms:5');
  await page.getByRole('button', {name: 'Save policies'}).click();
  await page.locator('#policies-form .status.error', {hasText: 'event_reminders'}).waitFor();
  await reminders.fill('popup:10, email:60');
  await page.getByRole('button', {name: 'Save policies'}).click();
  await page.getByText('Saved. New and changed appointments').waitFor();
  assert.equal(await reminders.inputValue(), 'popup:10,email:60');
  await page.reload();
  await page.getByRole('button', {name: 'Save policies'}).waitFor();
  assert.equal(await page.getByLabel('Invite the patient to the Google event').isChecked(), true);
  assert.equal(await page.getByLabel('Event reminders').inputValue(), 'popup:10,email:60');
  // The Google settings show the redirect URI to copy, and never the secret.
  await page.getByRole('link', {name: 'Google settings'}).click();
  const redirect = page.getByLabel('Redirect URI', {exact: true});
  await redirect.waitFor();
  assert.equal(await redirect.inputValue(), tm.base + '/oauth/google/callback');
  assert.equal(await page.getByLabel('Client secret').inputValue(), '');
  assert.equal(await page.getByRole('button', {name: 'Copy the redirect URI'}).isVisible(), true);
  // The API offers a check of the client (POST /api/v1/settings/google/test): the button shows.
  await page.getByRole('button', {name: 'Check', exact: true}).click();
  await page.locator('#google-form .status.ok', {hasText: 'Google accepted the client settings'})
      .waitFor();
  await screenshot(page, 'admin-google');
  // Sign out: back to the sign-in page, and the admin page is closed to this browser.
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByText('You are signed out.').waitFor();
  await page.goto(tm.base + '/admin');
  await page.waitForURL(u => new URL(u).pathname === '/signin');
  const root = await page.request.get(tm.base + '/', {maxRedirects: 0});
  assert.equal(root.headers()['location'], '/signin');
  assertNoProblems(page);
  await page.context().close();
});

test('an admin changes a setting and sees it in the audit; an appointment shows its history',
     async () => {
  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Meeting policies'}).click();
  await page.getByLabel('On cancellation').selectOption('mark_cancelled');
  await page.getByRole('button', {name: 'Save policies'}).click();
  await page.getByText('Saved. New and changed appointments').waitFor();

  await page.getByRole('link', {name: 'Audit', exact: true}).click();
  const newest = page.locator('#audit-list li').first();
  await newest.waitFor();
  assert.match(await newest.textContent(), /settings\.meetings\.updated — settings:meetings/);
  assert.ok((await newest.textContent()).includes(ADMIN.email), 'the admin is named');
  assert.match(await newest.textContent(), /cancel_mode: mark_cancelled/);
  // The kind filter.
  const kind = page.locator('#audit-kind');
  assert.equal(await page.getByLabel('Show').and(kind).count(), 1, 'the filter is labelled');
  await kind.selectOption('api_key');
  await waitFor(async () => !(await page.locator('#audit-list').textContent())
                    .includes('settings.meetings.updated'), 10000, 'the api_key filter');
  await kind.selectOption('settings');
  await page.locator('#audit-list li', {hasText: 'settings.meetings.updated'}).first().waitFor();
  await screenshot(page, 'admin-audit');

  // An appointment's own trail, on its card in the appointments section.
  const a = await book(doctors.get(ADA.email), hoursAhead(122), 'Europe/London');
  await page.getByRole('link', {name: 'Appointments', exact: true}).click();
  const history = page.getByRole('button', {name: 'History of appointment ' + a.id});
  await history.click();
  assert.equal(await history.getAttribute('aria-expanded'), 'true');
  const trail = page.locator('#trail-' + a.id);
  await trail.getByText('appointment.created').waitFor();
  // It stays open while the list refreshes, and fills in as the worker acts.
  await trail.getByText('google.events.insert').first().waitFor({timeout: 30000});
  await screenshot(page, 'admin-appointment-history');
  await checkA11y(page, 'admin appointment history');
  assertNoProblems(page);
  await page.context().close();
});

test('an admin edits an email template: unknown placeholders are refused, preview, save',
     async () => {
  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Notification templates'}).click();
  const pick = page.getByLabel('Email', {exact: true});
  await pick.waitFor();
  await pick.selectOption('meeting.ready.patient');
  const subject = page.getByLabel('Subject');
  await subject.fill('Your consultation with {{doctr_name}}');
  await page.getByRole('button', {name: 'Save template'}).click();
  const error = page.locator('#template-form .status.error');
  await error.waitFor();
  assert.match(await error.textContent(), /doctr_name/);
  assert.equal(await subject.getAttribute('aria-invalid'), 'true');

  await subject.fill('Your consultation with {{doctor_name}} is ready');
  await page.getByRole('button', {name: 'Preview'}).click();
  await page.getByText('Preview with sample values').waitFor();
  const previewed = await page.locator('#template-form p').first().textContent();
  assert.ok(!previewed.includes('{{'), 'the preview renders placeholders: ' + previewed);
  await page.getByRole('button', {name: 'Save template'}).click();
  await page.getByText('Saved. New emails use this template.').waitFor();
  await page.reload();
  await page.getByLabel('Email', {exact: true}).selectOption('meeting.ready.patient');
  assert.equal(await page.getByLabel('Subject').inputValue(),
               'Your consultation with {{doctor_name}} is ready');
  assert.match(await page.locator('#template-subject-hint').textContent(), /Customized/);
  assert.match(await page.locator('#template-text-hint').textContent(), /The default/);
  await screenshot(page, 'admin-template-saved');
  assertNoProblems(page);
  await page.context().close();
});

test('an admin sets the patient reminders\' lead times and previews the reminder email',
     async () => {
  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Notification templates'}).click();
  const leads = page.getByLabel('Remind patients before the start');
  await leads.waitFor();
  assert.equal(await leads.inputValue(), '24h, 1h');
  assert.match(await page.locator('#reminder-leads-hint').textContent(), /From the configuration/);

  await leads.fill('24h, tomorrow');
  await page.getByRole('button', {name: 'Save reminders'}).click();
  const error = page.locator('#reminders-form .status.error');
  await error.waitFor();
  assert.match(await error.textContent(), /tomorrow/);
  assert.equal(await leads.getAttribute('aria-invalid'), 'true');

  await leads.fill('90m, 2d');
  await page.getByRole('button', {name: 'Save reminders'}).click();
  await page.getByText('Saved. Upcoming consultations get reminders').waitFor();
  assert.equal(await leads.inputValue(), '2d, 90m');
  assert.match(await page.locator('#reminder-leads-hint').textContent(), /Set here/);
  await page.reload();
  await page.getByLabel('Remind patients before the start').waitFor();
  assert.equal(await page.getByLabel('Remind patients before the start').inputValue(), '2d, 90m');

  await page.getByLabel('Email', {exact: true}).selectOption('appointment.reminder.patient');
  await page.getByRole('button', {name: 'Preview'}).click();
  await page.getByText('Preview with sample values').waitFor();
  assert.match(await page.locator('#template-form pre').first().textContent(), /in 24 hours/);
  await screenshot(page, 'admin-reminders');

  await page.getByRole('button', {name: 'Use the configuration\'s'}).click();
  await page.getByText('Back to the configuration\'s reminders.').waitFor();
  assert.equal(await page.getByLabel('Remind patients before the start').inputValue(), '24h, 1h');
  await checkA11y(page, 'admin reminders');
  assertNoProblems(page);
  await page.context().close();
});

test('every admin section loads, passes axe-core and fits 375 px', async () => {
  const sections = ['appointments', 'meetings', 'doctors', 'services', 'api-keys', 'webhooks',
                    'google', 'policies', 'notifications', 'audit'];
  for (const width of [1280, 375]) {
    const page = await newPage(browser, {viewport: {width, height: 900}});
    await signIn(page, ADMIN);
    await page.waitForURL(u => new URL(u).pathname === '/admin');
    for (const name of sections) {
      await page.goto(tm.base + '/admin#' + name);
      const body = page.locator('#' + name);
      await waitFor(async () => !(await body.textContent()).startsWith('Loading'), 15000,
                    name + ' to load');
      assert.equal(await page.locator('#sec-' + name).isVisible(), true, name);
      assert.equal(await body.locator('.status.error').count(), 0,
                   name + ': ' + await body.textContent());
      await checkA11y(page, `admin ${name} at ${width}px`);
      assert.equal(await fitsWidth(page), true, `admin ${name} fits ${width}px`);
      await screenshot(page, `admin-${name}${width === 375 ? '-375px' : ''}`);
    }
    assertNoProblems(page);
    await page.context().close();
  }
});

test('keyboard only: sign in, open a section, focus is visible', async () => {
  const page = await newPage(browser);
  await page.goto(tm.base + '/signin');
  const focused = () => page.evaluate(() => document.activeElement.id ||
                                            document.activeElement.textContent.trim());
  const order = [];
  for (let i = 0; i < 6 && (await focused()) !== 'signin-button'; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  assert.deepEqual(order.slice(-3), ['email', 'password', 'signin-button'],
                   'tab order: ' + order.join(' → '));
  assert.equal(order[0], 'Skip to content');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.equal(outline, 'solid', 'the focused button shows a focus ring');
  await page.getByLabel('Email').focus();
  await page.keyboard.type(ADMIN.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN.password);
  await page.keyboard.press('Enter');
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  await page.getByRole('link', {name: 'Services'}).focus();
  await page.keyboard.press('Enter');
  await waitFor(async () => (await focused()) === 'h-services', 5000, 'focus on the section');
  assert.equal(await page.getByRole('link', {name: 'Services'}).getAttribute('aria-current'),
               'page');
  assertNoProblems(page);
  await page.context().close();
});

// The tabs are in the page before its script has read the session; a section chosen in that
// moment (a slow server, a quick keyboard) still gets the focus once the page is ready.
test('keyboard only: a section chosen while the admin page loads gets the focus', async () => {
  const page = await newPage(browser);
  await signIn(page, ADMIN);
  await page.waitForURL(u => new URL(u).pathname === '/admin');
  let release;
  const held = new Promise(resolve => { release = resolve; });
  await page.route(u => new URL(u).pathname === '/api/v1/session', async route => {
    await held;
    await route.continue();
  });
  await page.goto(tm.base + '/admin', {waitUntil: 'domcontentloaded'});
  await page.getByRole('link', {name: 'Services'}).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(u => new URL(u).hash === '#services');
  release();
  const focused = () => page.evaluate(() => document.activeElement.id);
  await waitFor(async () => (await focused()) === 'h-services', 5000, 'focus on the section');
  assert.equal(await page.locator('#sec-services').isHidden(), false);
  assertNoProblems(page);
  await page.context().close();
});

test('the sandbox banner is on every page, with and without JavaScript', async () => {
  const pages = ['/signin', '/doctor', '/admin', '/p', '/p?token=unknown',
                 '/oauth/google/callback?code=no-state'];
  for (const js of [true, false]) {
    const page = await newPage(browser, {javaScriptEnabled: js});
    for (const p of pages) {
      await page.goto(tm.base + p);
      // With JavaScript, /doctor and /admin send a visitor without a session to /signin.
      await page.waitForLoadState('networkidle');
      const banner = page.locator('.sandbox-banner');
      assert.match(await banner.textContent(), new RegExp(BANNER), `${p} (js ${js})`);
      assert.equal(await banner.isVisible(), true, `${p} (js ${js})`);
    }
    await page.context().close();
  }
});

test('every page passes axe-core and fits a 375 px wide screen', async () => {
  const targets = [['signin', tm.base + '/signin', null], ...[...visited].map(([k, v]) => [k, v,
                   k.startsWith('doctor') ? ADA : null])];
  for (const [label, url, who] of targets) {
    for (const width of [1280, 375]) {
      const page = await newPage(browser, {viewport: {width, height: 800}});
      if (who) {
        await signIn(page, who);
        await page.waitForURL(u => new URL(u).pathname === '/doctor');
      }
      await page.goto(url);
      await page.waitForLoadState('networkidle');
      await checkA11y(page, `${label} at ${width}px`);
      assert.equal(await fitsWidth(page), true, `${label} fits ${width}px`);
      if (width === 375) await screenshot(page, label.replace(/\W+/g, '-') + '-375px');
      assertNoProblems(page);
      await page.context().close();
    }
  }
});

test('a grant revoked at Google shows the reconnect banner; reconnect clears it; disconnect', async () => {
  const revoked = await tm.emulator('POST', '/_emulator/grants/revoke', {email: ADA.email});
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.revoked >= 1);
  const page = await newPage(browser);
  await signIn(page, ADA);
  await page.waitForURL(u => new URL(u).pathname === '/doctor');
  await page.getByRole('button', {name: 'Test connection'}).click();
  const banner = page.locator('#reconnect-banner');
  await banner.getByText('Your Google connection needs to be renewed').waitFor();
  assert.equal(await banner.getAttribute('role'), 'alert');
  assert.equal(await page.getByRole('button', {name: 'Reconnect Google'}).first().isVisible(),
               true);
  await screenshot(page, 'doctor-needs-reconnect');
  await checkA11y(page, 'doctor (needs reconnect)');

  // Reconnecting from the banner clears it; disconnecting revokes and says so.
  page.on('dialog', d => d.accept());
  await page.getByRole('button', {name: 'Reconnect Google'}).first().click();
  await page.waitForURL(u => u.toString().startsWith(tm.google));
  await page.getByLabel(`${ADA.name} (${ADA.email})`).check();
  await page.getByRole('button', {name: 'Allow'}).click();
  await page.getByText('Google Calendar is connected').waitFor();
  await page.locator('.badge.ok', {hasText: 'Connected'}).waitFor();
  assert.equal(await banner.isHidden(), true);
  await page.getByRole('button', {name: 'Disconnect'}).click();
  await page.getByText('Disconnected.').waitFor();
  await page.getByText('Not connected').waitFor();
  const grant = await tm.api('GET', `/api/v1/doctors/${doctors.get(ADA.email).id}/google`);
  assert.equal(grant.body.connected, false);
  assertNoProblems(page);
  await page.context().close();
});

test('newcomer walkthrough in the UI: connect, book, link appears, reschedule, cancel', async () => {
  const started = Date.now();
  const steps = [];
  const step = name => steps.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const doctor = await newPage(browser);
  await signIn(doctor, BARRY);
  await doctor.waitForURL(u => new URL(u).pathname === '/doctor');
  await doctor.getByRole('button', {name: 'Connect Google', exact: true}).click();
  await doctor.waitForURL(u => u.toString().startsWith(tm.google));
  await doctor.getByLabel(`${BARRY.name} (${BARRY.email})`).check();
  await doctor.getByRole('button', {name: 'Allow'}).click();
  await doctor.locator('.badge.ok', {hasText: 'Connected'}).waitFor();
  step('connected');

  const admin = await newPage(browser);
  admin.on('dialog', d => d.accept());
  await signIn(admin, ADMIN);
  await admin.waitForURL(u => new URL(u).pathname === '/admin');
  await admin.getByLabel('Doctor', {exact: true}).selectOption({label: BARRY.name});
  await admin.getByLabel('Patient', {exact: true}).selectOption('new');
  await admin.getByLabel('Patient name').fill('Grace Hopper');
  await admin.getByRole('button', {name: 'Book appointment'}).click();
  await admin.getByText(/^Booked for/).waitFor();
  step('booked');
  const patientLink = await admin.getByRole('textbox', {name: 'Patient link', exact: true})
      .inputValue();
  assert.match(patientLink, /\/p\?token=/);
  const card = admin.locator('li.card', {hasText: 'Grace Hopper'});
  const meet = card.locator('a.meet-link');
  await meet.waitFor({timeout: 30000});
  const link = await meet.getAttribute('href');
  assert.match(link, /^https:\/\/meet\.google\.com\//);
  step('link shown');
  await screenshot(admin, 'admin-booked');

  await card.getByRole('button', {name: /^Reschedule/}).click();
  const startInput = card.getByLabel(/^New start/);
  const old = await startInput.inputValue();
  const next = new Date(Date.parse(old + ':00Z') + 24 * 3600e3).toISOString().slice(0, 16);
  await startInput.fill(next);
  await card.getByRole('button', {name: 'Move appointment'}).click();
  // The card re-renders with the new start once the event is patched and the link is back.
  await waitFor(async () =>
    (await card.getByText('Meeting: Google Meet link ready').count()) === 1 &&
        (await card.locator('input[type=datetime-local]').inputValue()) === next,
                30000, 'the moved appointment');
  assert.equal(await card.locator('a.meet-link').getAttribute('href'), link, 'the link stays');
  step('rescheduled');

  await card.getByRole('button', {name: /^Cancel appointment/}).click();
  await card.getByText('Meeting: Cancelled').waitFor({timeout: 30000});
  const seconds = (Date.now() - started) / 1000;
  step('cancelled');
  console.log(`# newcomer walkthrough: ${seconds.toFixed(1)} s in all (${steps.join(', ')})`);
  assert.ok(seconds < 60, 'the walkthrough takes under a minute');

  const patient = await newPage(browser);
  const u = new URL(patientLink);
  await patient.goto(tm.base + u.pathname + u.search);
  await patient.getByText('This appointment was cancelled').waitFor();
  assert.equal(await patient.getByRole('link', {name: 'Join Google Meet'}).count(), 0);
  await screenshot(patient, 'patient-cancelled');
  for (const p of [doctor, admin, patient]) {
    assertNoProblems(p);
    await p.context().close();
  }
});
