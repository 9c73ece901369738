// The doctor's page: the Google connection (connect, reconnect, test, disconnect, a banner when
// the grant needs reconnecting), the next free times (availability: Google Calendar's busy
// times and telemeet's appointments, inside the working hours), upcoming consultations with
// "Start Google Meet" and "Refresh from Google", and the doctor's recurring series with their
// occurrences (cancel the rest of one; book a new one for a patient).
'use strict';

(async () => {
  const $ = id => document.getElementById(id);
  let session;
  try {
    session = await tm.requireSession('doctor');
  } catch (e) {
    tm.say('status', 'Your page could not be loaded: ' + e.message, 'error');
    return;
  }
  if (!session) return;
  const doctorId = session.user.doctor_id;
  if (!doctorId) {
    tm.say('status', 'Your sign-in is not linked to a doctor record. Ask your clinic administrator.',
           'error');
    return;
  }
  const base = '/api/v1/doctors/' + doctorId;
  const params = new URLSearchParams(location.search);
  if (params.get('connected')) {
    tm.say('status', 'Google Calendar is connected. Your consultations get their Meet links now.',
           'ok');
    history.replaceState(null, '', '/doctor');
  }

  let doctor = {time_zone: tm.browserZone()};
  const patients = new Map();
  let services = new Map();
  let grant = null;

  // --- Google connection ---
  function showGrant(g) {
    grant = g;
    const state = $('google-state');
    const needs = g.status === 'needs_reconnect';
    $('reconnect-banner').hidden = !needs;
    $('connect').hidden = g.status !== 'not_connected' && g.status !== 'disconnected';
    $('reconnect').hidden = g.status !== 'active' && !needs;
    $('reconnect').className = needs ? '' : 'secondary';
    $('test').hidden = g.status === 'not_connected' || g.status === 'disconnected';
    $('disconnect').hidden = g.status === 'not_connected' || g.status === 'disconnected';
    state.replaceChildren();
    if (g.status === 'active') {
      state.append(tm.el('span', {class: 'badge ok', text: 'Connected'}), ' ',
                   'Google Calendar ' + (g.account_email ? g.account_email : '') +
                   ': new consultations get a Google Meet link automatically.');
    } else if (needs) {
      state.append(tm.el('span', {class: 'badge bad', text: 'Needs reconnecting'}), ' ',
                   'Google stopped accepting the connection' +
                   (g.account_email ? ' to ' + g.account_email : '') + '.' +
                   (g.last_error ? ' (' + g.last_error + ')' : ''));
    } else {
      state.append(tm.el('span', {class: 'badge warn', text: 'Not connected'}), ' ',
                   'Connect your Google account so telemeet can put your telemedicine ' +
                   'consultations in your Google Calendar with a Google Meet link.');
    }
    // The Meet features (attendance, who may join) need permissions of their own on top of the
    // calendar; without them nothing changes.
    const f = g.features || {};
    const missing = ['attendance', 'access_type'].filter(k => f[k] !== 'granted');
    const active = g.status === 'active';
    $('meet-features').hidden = !active;
    $('allow-meet').hidden = !active || missing.length === 0;
    if (active) {
      $('meet-features').textContent = missing.length === 0
          ? 'Google Meet: attendance and who may join are allowed. telemeet reads who joined ' +
                'each consultation (counts and times, no names) and sets who may enter.'
          : 'Google Meet: telemeet does not read attendance or set who may join your calls. ' +
                'To have consultations marked as held from Meet\'s own records, and only ' +
                'invited people enter directly, allow it (Google asks you for "see information ' +
                'about your Google Meet conferences" and "edit settings of your Meet calls").';
    }
  }

  async function loadGrant() {
    try {
      showGrant(await tm.api('GET', base + '/google'));
    } catch (e) {
      $('google-state').textContent = 'The Google connection could not be loaded: ' + e.message;
    }
  }

  async function connect(event) {
    const button = event.currentTarget;
    await tm.busy(button, 'google-status', async () => {
      tm.say('google-status', 'Opening Google…', 'info');
      const out = await tm.api('POST', base + '/google/connect', {return_to: '/doctor?connected=1'});
      location.assign(out.authorization_url);
    });
  }
  $('allow-meet').addEventListener('click', event => tm.busy(event.currentTarget, 'google-status',
                                                              async () => {
    tm.say('google-status', 'Opening Google…', 'info');
    const out = await tm.api('POST', base + '/google/connect',
                             {return_to: '/doctor?connected=1',
                              features: ['attendance', 'access_type']});
    location.assign(out.authorization_url);
  }));
  $('connect').addEventListener('click', connect);
  $('reconnect').addEventListener('click', connect);
  $('reconnect-banner-button').addEventListener('click', connect);

  $('test').addEventListener('click', event => tm.busy(event.currentTarget, 'google-status',
                                                        async () => {
    tm.say('google-status', 'Testing the connection with Google…', 'info');
    const t = await tm.api('POST', base + '/google/test');
    if (t.ok) {
      tm.say('google-status', 'The connection works: Google Calendar ' + t.account_email +
             (t.time_zone ? ' (' + t.time_zone + ')' : '') + '.', 'ok');
    } else {
      tm.say('google-status', 'The connection does not work: ' + (t.message || t.reason) +
             (t.needs_reconnect ? ' Reconnect Google to fix it.' : ''), 'error');
    }
    await loadGrant();
  }));

  $('disconnect').addEventListener('click', event => {
    if (!confirm('Disconnect Google? telemeet stops creating Meet links for you until you ' +
                 'connect again.')) {
      return;
    }
    return tm.busy(event.currentTarget, 'google-status', async () => {
      const out = await tm.api('DELETE', base + '/google');
      tm.say('google-status', out.revoked_at_google
                 ? 'Disconnected. telemeet\'s access was also removed at Google.'
                 : 'Disconnected here. Google could not be told (' + (out.revoke_error || '') +
                       '); you can remove telemeet in your Google account settings.', 'ok');
      await loadGrant();
    });
  });

  // --- Consultations ---
  async function patientName(id) {
    if (!patients.has(id)) {
      patients.set(id, tm.api('GET', '/api/v1/patients/' + id).then(p => p.name)
                          .catch(() => 'Patient #' + id));
    }
    return patients.get(id);
  }

  async function renderAppointment(a) {
    const zone = doctor.time_zone;
    const item = tm.el('li', {class: 'card', 'data-appointment': a.id});
    const when = tm.formatTime(a.start, zone) + '–' + tm.formatClock(a.end, zone);
    item.append(tm.el('div', {class: 'title'}, when, ' ',
                      tm.el('span', {class: 'muted small', text: '(' + zone + ')'})));
    const service = services.get(a.service_id);
    item.append(tm.el('div', {class: 'meta'}, await patientName(a.patient_id), ' · ',
                      service ? service.name : 'Service #' + a.service_id, ' · ',
                      a.status === 'booked' ? 'Booked (not confirmed yet)' : 'Confirmed',
                      a.series_id ? ' · Part of series #' + a.series_id : ''));
    const m = a.meeting || {state: 'not_needed'};
    const line = tm.el('div', {class: 'row'});
    if (m.join_url && (m.state === 'ready' || m.state === 'updating')) {
      line.append(tm.el('a', {class: 'button join', href: m.join_url, target: '_blank',
                              rel: 'noopener noreferrer', text: 'Start Google Meet'}));
      if (m.event_url) {
        line.append(tm.el('a', {href: m.event_url, target: '_blank', rel: 'noopener noreferrer',
                                text: 'Open in Google Calendar'}));
      }
    } else {
      const words = tm.meetingWords(m);
      let text = words.text;
      if (m.state === 'awaiting_doctor' || m.state === 'needs_reconnect') {
        text = 'Waiting for your Google connection';
      }
      line.append(tm.el('span', {class: 'badge ' + words.kind, text: 'Meet link: ' + text}));
    }
    // Re-reads the event from Google (the stored link, times, drift); rate-limited per
    // appointment, so a second press soon after says how long to wait.
    if (m.event_url || m.join_url) {
      const refresh = tm.el('button', {class: 'secondary', type: 'button',
                                       text: 'Refresh from Google',
                                       'aria-label': 'Refresh from Google: ' + when});
      refresh.addEventListener('click', event => refreshMeeting(event.currentTarget, a.id, when));
      line.append(refresh);
    }
    item.append(line);
    const extra = [tm.accessWords(m.access_type), tm.attendanceWords(a.attendance, zone)];
    for (const words of extra.filter(Boolean)) {
      item.append(tm.el('div', {class: 'row'},
                        tm.el('span', {class: 'badge ' + words.kind, text: words.text})));
    }
    return item;
  }

  // Consultations of the last two days whose attendance Meet's records told.
  async function loadRecent() {
    try {
      const from = new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString()
                       .replace(/\.\d+Z$/, 'Z');
      const page = await tm.api('GET', '/api/v1/appointments?limit=100&doctor_id=' + doctorId +
                                       '&from=' + encodeURIComponent(from));
      const seen = page.data.filter(a => a.attendance && new Date(a.end) < new Date());
      const items = [];
      for (const a of seen.reverse()) {
        const zone = doctor.time_zone;
        const words = tm.attendanceWords(a.attendance, zone);
        items.push(tm.el('li', {class: 'card', 'data-appointment': a.id},
                         tm.el('div', {class: 'title'}, tm.formatTime(a.start, zone)),
                         tm.el('div', {class: 'meta'}, await patientName(a.patient_id), ' · ',
                               a.status === 'completed' ? 'Completed' : 'Not marked completed'),
                         tm.el('div', {class: 'row'},
                               tm.el('span', {class: 'badge ' + words.kind, text: words.text}))));
      }
      $('recent').replaceChildren(...items);
      const text = items.length === 0
          ? 'No attendance from Google Meet yet (it is read after each consultation when your ' +
                'clinic turned it on).'
          : items.length + ' recent consultation' + (items.length === 1 ? '' : 's') +
                ' with attendance from Google Meet.';
      if ($('recent-state').textContent !== text) $('recent-state').textContent = text;
    } catch (e) {
      $('recent-state').textContent = 'Recent consultations could not be loaded: ' + e.message;
    }
  }

  async function refreshMeeting(button, id, when) {
    await tm.busy(button, null, async () => {
      tm.say('upcoming-status', 'Asking Google for the consultation of ' + when + '…', 'info');
      try {
        const m = await tm.api('POST', '/api/v1/appointments/' + id + '/meeting/refresh');
        tm.say('upcoming-status', 'Refreshed from Google (' + when + '): ' +
                   tm.meetingWords(m).text + '.', 'ok');
      } catch (e) {
        tm.say('upcoming-status', e.status === 429 && e.retryAfter
                   ? 'Refreshed a moment ago; try again in ' + e.retryAfter + ' s.'
                   : 'Not refreshed: ' + e.message, 'error');
        return;
      }
      await loadAppointments();
    });
  }

  // --- Next free times (GET /doctors/{id}/availability over the next two weeks) ---
  const FREE_SHOWN = 8;
  async function loadFree() {
    const iso = d => d.toISOString().replace(/\.\d+Z$/, 'Z');
    const from = new Date();
    const to = new Date(from.getTime() + 14 * 24 * 60 * 60 * 1000);
    try {
      const a = await tm.api('GET', base + '/availability?slot_minutes=30&from=' +
                                        encodeURIComponent(iso(from)) + '&to=' +
                                        encodeURIComponent(iso(to)));
      const zone = a.time_zone || doctor.time_zone;
      const slots = a.free.slice(0, FREE_SHOWN);
      $('free').replaceChildren(...slots.map(s => tm.el(
          'li', {class: 'card', 'data-start': s.start},
          tm.formatTime(s.start, zone) + '–' + tm.formatClock(s.end, zone), ' ',
          tm.el('span', {class: 'muted small', text: '(' + zone + ')'}))));
      let text = slots.length === 0 ? 'No free half hour in the next two weeks'
                                    : 'Your next ' + slots.length + ' free half hours';
      text += a.working_hours ? ' within your working hours' : '';
      text += a.google_consulted
          ? ', checked against your Google Calendar.'
          : ': from your telemeet consultations only (Google Calendar was not consulted).';
      $('free-state').textContent = text;
    } catch (e) {
      $('free').replaceChildren();
      $('free-state').textContent = 'Your free times could not be loaded: ' + e.message;
    }
  }

  let pollTimer = null;
  let lastSummary = '';
  async function loadAppointments() {
    clearTimeout(pollTimer);
    let moving = false;
    try {
      const from = new Date(Date.now() - 60 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      const page = await tm.api('GET', '/api/v1/appointments?limit=100&doctor_id=' + doctorId +
                                       '&from=' + encodeURIComponent(from));
      const upcoming = page.data.filter(a => a.status === 'booked' || a.status === 'confirmed');
      const items = [];
      for (const a of upcoming) {
        items.push(await renderAppointment(a));
        if (tm.meetingMoving(a.meeting)) moving = true;
      }
      $('upcoming').replaceChildren(...items);
      const ready = upcoming.filter(a => a.meeting && a.meeting.join_url).length;
      const summary = upcoming.length === 0
          ? 'No upcoming consultations.'
          : upcoming.length + ' upcoming consultation' + (upcoming.length === 1 ? '' : 's') +
                ', ' + ready + ' with a Meet link ready.';
      // Announced only when it changes, so polling stays quiet.
      if (summary !== lastSummary) $('upcoming-state').textContent = summary;
      lastSummary = summary;
    } catch (e) {
      $('upcoming-state').textContent = 'Your consultations could not be loaded: ' + e.message;
      lastSummary = '';
    }
    pollTimer = setTimeout(() => {
      loadAppointments();
      if (!moving) {
        loadGrant();
        loadRecent();
      }
    }, moving ? 3000 : 15000);
  }

  // --- Recurring series ---
  const ruleWords = {DAILY: 'Daily', WEEKLY: 'Weekly', MONTHLY: 'Monthly'};
  function describeRule(rrule) {
    const parts = new Map(rrule.replace(/^RRULE:/, '').split(';').map(p => p.split('=')));
    let text = ruleWords[parts.get('FREQ')] || parts.get('FREQ');
    if (parts.get('INTERVAL')) text += ', every ' + parts.get('INTERVAL');
    if (parts.get('BYDAY')) text += ' on ' + parts.get('BYDAY');
    if (parts.get('COUNT')) text += ', ' + parts.get('COUNT') + ' times';
    if (parts.get('UNTIL')) text += ', until ' + parts.get('UNTIL');
    return text;
  }

  function renderSeries(s) {
    const zone = s.time_zone;
    const item = tm.el('li', {class: 'card', 'data-series': s.id});
    item.append(tm.el('div', {class: 'title'}, 'Series #' + s.id + ': ' + describeRule(s.rrule),
                      ' ', tm.el('span', {class: 'muted small', text: '(' + zone + ')'})));
    item.append(tm.el('div', {class: 'meta'},
                      s.status === 'cancelled' ? 'Cancelled' : 'Active', ' · ',
                      s.mode === 'single_event' ? 'One recurring event, one Meet link'
                                                : 'One Meet link per occurrence', ' · ',
                      s.active_occurrence_count + ' of ' + s.occurrence_count +
                          ' occurrences not cancelled'));
    const list = tm.el('ol', {class: 'occurrences small'});
    for (const o of s.occurrences || []) {
      const m = o.meeting || {state: 'not_needed'};
      const line = tm.el('li', {'data-occurrence': o.id},
                         tm.formatTime(o.start, zone) + ' · ' + o.status + ' · ');
      if (m.join_url && (m.state === 'ready' || m.state === 'updating')) {
        line.append(tm.el('a', {href: m.join_url, target: '_blank', rel: 'noopener noreferrer',
                                text: 'Meet link'}));
      } else {
        line.append('Meet link: ' + tm.meetingWords(m).text);
      }
      list.append(line);
    }
    item.append(list);
    if (s.status === 'active') {
      const cancel = tm.el('button', {class: 'danger', type: 'button',
                                      text: 'Cancel the rest of series #' + s.id});
      cancel.addEventListener('click', event => {
        if (!confirm('Cancel every occurrence of this series that has not begun yet?')) return;
        return tm.busy(event.currentTarget, 'series-state', async () => {
          await tm.api('DELETE', '/api/v1/appointment_series/' + s.id);
          // Reload first: the list's reload rewrites the status line this message goes to.
          await loadSeries();
          await loadAppointments();
          tm.say('series-state', 'Series #' + s.id + ' is cancelled from now on.', 'ok');
        });
      });
      item.append(tm.el('div', {class: 'row'}, cancel));
    }
    return item;
  }

  async function loadSeries() {
    try {
      const page = await tm.api('GET', '/api/v1/appointment_series?limit=20');
      const items = [];
      for (const s of page.data) {
        items.push(renderSeries(await tm.api('GET', '/api/v1/appointment_series/' + s.id)));
      }
      $('series').replaceChildren(...items);
      $('series-state').textContent = items.length === 0
          ? 'No recurring series.'
          : items.length + ' recurring series.';
    } catch (e) {
      $('series-state').textContent = 'Your series could not be loaded: ' + e.message;
    }
  }

  // --- Booking a series (POST /appointment_series) ---
  // One key per booking: a double click or a retry after a lost answer books once; any change
  // to the form makes it a new booking.
  let seriesKey = null;
  const newKey = () => 'ui-series-' + (crypto.randomUUID ? crypto.randomUUID()
      : Date.now() + '-' + Math.random().toString(36).slice(2));
  const seriesInputs = {
    patient_id: 'series-patient', patient: 'series-patient-name', 'patient.name':
    'series-patient-name', 'patient.email': 'series-patient-email', service_id: 'series-service',
    start: 'series-start', rrule: 'series-count', mode: 'series-freq',
  };
  function seriesInvalid(fieldName, message) {
    for (const node of $('series-form').querySelectorAll('[aria-invalid]')) {
      node.removeAttribute('aria-invalid');
    }
    const target = fieldName && $(seriesInputs[fieldName] || '');
    if (target) {
      target.setAttribute('aria-invalid', 'true');
      target.focus();
    }
    tm.say('series-status', message, 'error');
  }

  async function setUpSeriesForm() {
    $('series-start-label').textContent = 'First start (' + doctor.time_zone + ')';
    const first = new Date(Date.now() + 24 * 3600e3);
    first.setMinutes(0, 0, 0);
    const parts = {};
    for (const p of new Intl.DateTimeFormat('en-GB', {
      timeZone: tm.zoneOk(doctor.time_zone) ? doctor.time_zone : undefined, year: 'numeric',
      month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(first)) parts[p.type] = p.value;
    $('series-start').value =
        `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
    $('series-service').replaceChildren(...[...services.values()]
        .filter(s => s.active !== false)
        .map(s => tm.el('option', {value: s.id,
                                   text: s.name + (s.telemedicine ? ' (telemedicine)' : '')})));
    try {
      const page = await tm.api('GET', '/api/v1/patients?limit=100');
      $('series-patient').append(...page.data.map(p => tm.el(
          'option', {value: p.id, text: p.name + (p.email ? ' <' + p.email + '>' : '')})));
    } catch (e) {
      tm.say('series-status', 'Your patients could not be loaded: ' + e.message, 'error');
    }
    const showNew = () => { $('series-new-patient').hidden = $('series-patient').value !== 'new'; };
    $('series-patient').addEventListener('change', showNew);
    showNew();
    $('series-form').addEventListener('input', () => { seriesKey = null; });
    $('series-form').addEventListener('change', () => { seriesKey = null; });
    $('series-form').addEventListener('submit', submitSeries);
  }

  async function submitSeries(event) {
    event.preventDefault();
    const form = $('series-form');
    const isNew = $('series-patient').value === 'new';
    const name = $('series-patient-name').value.trim();
    const count = Number($('series-count').value);
    if (isNew && !name) return seriesInvalid('patient.name', 'Enter the new patient\'s name.');
    if (!$('series-start').value) return seriesInvalid('start', 'Choose the first start.');
    if (!Number.isInteger(count) || count < 2 || count > 20) {
      return seriesInvalid('rrule', 'The number of consultations is from 2 to 20.');
    }
    const body = {
      doctor_id: doctorId, service_id: Number($('series-service').value),
      start: $('series-start').value, time_zone: doctor.time_zone,
      rrule: 'FREQ=' + $('series-freq').value + ';COUNT=' + count,
      mode: form.querySelector('input[name="series-mode"]:checked').value,
      confirm: $('series-confirm').checked,
    };
    if (isNew) {
      body.patient = {name, time_zone: doctor.time_zone};
      const email = $('series-patient-email').value.trim();
      if (email) body.patient.email = email;
    } else {
      body.patient_id = Number($('series-patient').value);
    }
    if (!seriesKey) seriesKey = newKey();
    const key = seriesKey;
    const button = $('series-submit');
    if (button.disabled) return;
    await tm.busy(button, null, async () => {
      tm.say('series-status', 'Booking the series…', 'info');
      let s;
      try {
        s = await tm.api('POST', '/api/v1/appointment_series', body, {'Idempotency-Key': key});
      } catch (e) {
        seriesInvalid(e.field, 'Not booked: ' + e.message + (e.field ? ' (field: ' + e.field + ')'
                                                                       : ''));
        return;
      }
      seriesKey = null;
      for (const node of form.querySelectorAll('[aria-invalid]')) {
        node.removeAttribute('aria-invalid');
      }
      // The new patient can be picked for the next series.
      if (isNew) $('series-patient').append(tm.el('option', {value: s.patient_id, text: name}));
      $('series-patient-name').value = '';
      $('series-patient-email').value = '';
      await loadSeries();
      await loadAppointments();
      tm.say('series-status', 'Series #' + s.id + ' is booked: ' + s.occurrences.length +
                 ' consultations from ' + tm.formatTime(s.occurrences[0].start, s.time_zone) +
                 '.', 'ok');
    });
  }

  try {
    doctor = await tm.api('GET', base);
    $('title').textContent = 'Consultations of ' + doctor.name;
    const list = await tm.api('GET', '/api/v1/services?limit=100');
    services = new Map(list.data.map(s => [s.id, s]));
  } catch (e) {
    tm.say('status', 'Part of your page could not be loaded: ' + e.message, 'error');
  }
  await loadGrant();
  await loadFree();
  await loadAppointments();
  await loadRecent();
  await loadSeries();
  await setUpSeriesForm();
})();
