// The peer of bench_google_client: the official Node clients (google-auth-library OAuth2Client
// and @googleapis/calendar) doing the same work against fake-google: connect D doctors (PKCE,
// auto-approved), then create N events with Google Meet across them, C at a time. Prints one
// JSON line with the same fields as the C++ program.
//
//   node bench/google_client/node/load.js BASE CLIENT_ID SECRET REDIRECT PREFIX DOMAIN D N C
'use strict';

const {OAuth2Client, CodeChallengeMethod} = require('google-auth-library');
const {calendar: calendarApi} = require('@googleapis/calendar');

const [base, clientId, clientSecret, redirectUri, prefix, domain, doctorsArg, eventsArg,
       concurrencyArg] = process.argv.slice(2);
const doctors = Number(doctorsArg);
const events = Number(eventsArg);
const concurrency = Number(concurrencyArg);
const SCOPE = 'https://www.googleapis.com/auth/calendar';

function newClient() {
  return new OAuth2Client({
    clientId, clientSecret, redirectUri,
    endpoints: {
      oauth2AuthBaseUrl: base + '/o/oauth2/v2/auth',
      oauth2TokenUrl: base + '/token',
      oauth2RevokeUrl: base + '/revoke',
      tokenInfoUrl: base + '/tokeninfo',
      oauth2FederatedSignonPemCertsUrl: base + '/oauth2/v1/certs',
      oauth2FederatedSignonJwkCertsUrl: base + '/oauth2/v3/certs',
    },
  });
}

async function connect(d) {
  const client = newClient();
  const email = `${prefix}${d}@${domain}`;
  const {codeVerifier, codeChallenge} = await client.generateCodeVerifierAsync();
  const url = client.generateAuthUrl({
    access_type: 'offline', prompt: 'consent', scope: [SCOPE], state: 's' + d,
    login_hint: email, code_challenge_method: CodeChallengeMethod.S256,
    code_challenge: codeChallenge,
  });
  const res = await fetch(url, {redirect: 'manual'});
  if (res.status !== 302) throw new Error(`consent for ${email}: ${res.status}`);
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  const counter = {calls: 1};  // the exchange below
  const {tokens} = await client.getToken({code, codeVerifier});
  client.setCredentials(tokens);
  client.on('tokens', () => { counter.calls += 1; });  // every refresh
  const calendar = calendarApi({version: 'v3', auth: client, rootUrl: base + '/'});
  return {client, counter, calendar};
}

async function main() {
  const connected = [];
  for (let d = 0; d < doctors; d++) connected.push(await connect(d));
  let next = 0, failed = 0, withLink = 0;
  const t0 = process.hrtime.bigint();
  async function worker() {
    for (let i = next++; i < events; i = next++) {
      const doc = connected[i % doctors];
      const appointment = `node-${i}`;
      try {
        let {data} = await doc.calendar.events.insert({
          calendarId: 'primary', conferenceDataVersion: 1, sendUpdates: 'none',
          requestBody: {
            summary: 'Consultation',
            start: {dateTime: '2026-03-02T09:00:00+01:00', timeZone: 'Europe/Paris'},
            end: {dateTime: '2026-03-02T09:30:00+01:00', timeZone: 'Europe/Paris'},
            visibility: 'private',
            extendedProperties: {private: {telemeetAppointment: appointment}},
            conferenceData: {createRequest: {requestId: appointment + '-1',
                                             conferenceSolutionKey: {type: 'hangoutsMeet'}}},
          },
        });
        const pending = d => d.conferenceData?.createRequest?.status?.statusCode === 'pending';
        for (let p = 0; p < 8 && pending(data); p++) {
          await new Promise(r => setTimeout(r, 700));
          ({data} = await doc.calendar.events.get({calendarId: 'primary', eventId: data.id}));
        }
        const points = data.conferenceData?.entryPoints ?? [];
        const video = points.find(e => e.entryPointType === 'video');
        if (video?.uri || data.hangoutLink) withLink++;
      } catch (e) {
        failed++;
      }
    }
  }
  await Promise.all(Array.from({length: concurrency}, worker));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const usage = process.resourceUsage();
  const calls = connected.map(c => c.counter.calls);
  console.log(JSON.stringify({
    client: 'node-googleapis', events, failed, with_link: withLink, wall_s: wall,
    events_per_s: events / wall, cpu_s: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peak_rss_kb: usage.maxRSS,
    token_calls_per_doctor: {min: Math.min(...calls), max: Math.max(...calls)},
  }));
  process.exit(failed === 0 ? 0 : 3);
}

main().catch(e => { console.error(e); process.exit(1); });
