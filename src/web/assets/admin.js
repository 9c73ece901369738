// The clinic admin's pages: appointments (book, confirm, reschedule, cancel, patient links, each
// one's history), meetings needing attention (retry), doctors, services, API keys, webhooks,
// Google settings, meeting policies, notification templates and the audit of admin changes.
// One section shows at a time (#hash).
'use strict';

(async () => {
  // The section's tab as the page was opened: one chosen while the page still loads (before the
  // hashchange listener below exists) moves the focus too, once the page is ready.
  const hashAtLoad = location.hash;
  const {el, api, say} = tm;
  const $ = id => document.getElementById(id);
  let uid = 0;

  // --- Small builders: every input gets a <label for>, hints are tied with aria-describedby.
  function field(labelText, control, hint) {
    if (!control.id) control.id = 'f' + (++uid);
    const parts = [el('label', {for: control.id, text: labelText}), control];
    if (hint) {
      const hid = control.id + '-hint';
      control.setAttribute('aria-describedby', hid);
      parts.push(el('p', {class: 'hint', id: hid, text: hint}));
    }
    return el('div', {class: 'field'}, ...parts);
  }
  const input = attrs => el('input', Object.assign({type: 'text'}, attrs || {}));
  function select(options, value, attrs) {
    const s = el('select', attrs || {});
    for (const [v, t] of options) {
      s.append(el('option', {value: v, text: t, selected: String(v) === String(value)}));
    }
    return s;
  }
  function checkbox(text, checked, attrs) {
    const box = el('input', Object.assign({type: 'checkbox', checked: !!checked}, attrs || {}));
    return {box, label: el('label', {class: 'inline'}, box, text)};
  }
  const statusBox = () => el('div', {class: 'status', role: 'status', 'aria-live': 'polite'});
  const errorText = e => e.message + (e.field ? ' (field: ' + e.field + ')' : '');
  const when = (iso, zone) => tm.formatTime(iso, zone) + ' (' + zone + ')';
  // The booking system's own id of a doctor, service or patient, when it has one.
  const refText = x => (x && x.external_ref ? ' · External ID ' + x.external_ref : '');
  const REF_LABEL = 'External ID (your booking system\'s)';
  const REF_HINT = 'Optional: the id this record has in your booking system (up to 200 ' +
                   'characters), so it can be found by it over the API.';

  // Runs a write from a button; reports success or the API's error in `box`.
  async function act(button, box, work, done) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    say(box, 'Working…', 'info');
    try {
      const out = await work();
      say(box, typeof done === 'function' ? done(out) : done, 'ok');
      return out;
    } catch (e) {
      say(box, errorText(e), 'error');
      return undefined;
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  // Every item of a paginated list (up to 500).
  async function listAll(path) {
    const out = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await api('GET', path + sep + 'limit=100' +
                                     (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      out.push(...page.data);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return out;
  }

  // "YYYY-MM-DDTHH:MM" of an instant in `zone` (for datetime-local inputs).
  function wallTime(iso, zone) {
    const parts = {};
    const fmt = new Intl.DateTimeFormat('en-GB', {
      timeZone: tm.zoneOk(zone) ? zone : 'UTC', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false});
    for (const p of fmt.formatToParts(new Date(iso))) parts[p.type] = p.value;
    const hour = parts.hour === '24' ? '00' : parts.hour;
    return `${parts.year}-${parts.month}-${parts.day}T${hour}:${parts.minute}`;
  }

  function copyRow(value, labelText) {
    const id = 'copy' + (++uid);
    const box = statusBox();
    const inp = input({id, value, readonly: true});
    const button = el('button', {type: 'button', class: 'secondary', text: 'Copy',
                                 'aria-label': 'Copy ' + labelText.toLowerCase(),
                                 onclick: () => tm.copyFrom(id, box)});
    return el('div', {}, el('label', {for: id, text: labelText}),
              el('div', {class: 'field-row'}, inp, button), box);
  }

  function secretShownOnce(title, value, note) {
    return el('div', {class: 'panel', role: 'group', 'aria-label': title},
              el('h3', {text: title}), copyRow(value, title),
              el('p', {class: 'hint', text: note}));
  }

  let session;
  try {
    session = await tm.requireSession('admin');
  } catch (e) {
    say('status', 'The page could not be loaded: ' + errorText(e), 'error');
    return;
  }
  if (!session) return;

  let doctors = [];
  let services = [];
  let patients = [];
  async function loadCatalog() {
    [doctors, services, patients] = await Promise.all([
      listAll('/api/v1/doctors'), listAll('/api/v1/services'), listAll('/api/v1/patients')]);
  }
  const byId = (list, id) => list.find(x => x.id === id);

  // ===== Appointments =====
  let appointmentTimer = null;
  let appointmentNotice = null;
  let appointmentStatus = null;
  // After a change the worker picks the appointment up within moments: look again quickly.
  let fastUntil = 0;
  const changed = () => { fastUntil = Date.now() + 20000; };
  async function showAppointments(root) {
    await loadCatalog();
    root.replaceChildren(bookingForm(), el('h3', {text: 'Upcoming and recent appointments'}));
    const filter = select([['', 'All'], ['booked', 'Booked'], ['confirmed', 'Confirmed'],
                           ['cancelled', 'Cancelled'], ['completed', 'Completed']], '');
    const list = el('ul', {class: 'list', id: 'appointment-list'});
    // Outcomes of the cards' buttons live outside the list, which re-renders as it polls.
    appointmentNotice = el('div', {id: 'appointment-notice'});
    appointmentStatus = statusBox();
    const state = el('p', {class: 'muted', role: 'status', 'aria-live': 'polite'});
    root.append(field('Show', filter), appointmentStatus, appointmentNotice, state, list);
    filter.addEventListener('change', () => refresh(true));
    let last = '';
    async function refresh(announce) {
      clearTimeout(appointmentTimer);
      let moving = false;
      try {
        const from = new Date(Date.now() - 24 * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
        const items = await listAll('/api/v1/appointments?from=' + encodeURIComponent(from) +
                                    (filter.value ? '&status=' + filter.value : ''));
        const known = new Set(patients.map(p => p.id));
        if (items.some(a => !known.has(a.patient_id))) patients = await listAll('/api/v1/patients');
        // Never re-render under someone typing a new time; keep focus on the same control.
        const active = document.activeElement;
        const editing = list.querySelector('form:not([hidden])') ||
            (list.contains(active) && active.matches('input, select, textarea'));
        if (!editing) {
          const key = list.contains(active) ? active.getAttribute('data-key') : null;
          list.replaceChildren(...items.map(a => appointmentCard(a, () => {
            changed();
            refresh(false);
          })));
          const again = key && list.querySelector(`[data-key="${key}"]`);
          if (again) again.focus();
        }
        moving = items.some(a => tm.meetingMoving(a.meeting));
        const text = items.length ? items.length + ' appointment' + (items.length === 1 ? '' : 's') +
                                        ' from yesterday on.'
                                  : 'No appointments from yesterday on. Book one above.';
        if (announce || text !== last) state.textContent = text;
        last = text;
      } catch (e) {
        state.textContent = 'Appointments could not be loaded: ' + errorText(e);
      }
      if (location.hash === '#appointments' || location.hash === '') {
        const fast = moving || Date.now() < fastUntil;
        appointmentTimer = setTimeout(() => refresh(false), fast ? 1000 : 10000);
      }
    }
    root.refresh = refresh;
    await refresh(true);
  }

  function bookingForm() {
    const form = el('form', {class: 'panel', id: 'book-form', novalidate: true});
    const doctor = select(doctors.filter(d => d.active !== false).map(d => [d.id, d.name]), '',
                          {id: 'book-doctor'});
    const service = select(services.filter(s => s.active !== false).map(
        s => [s.id, s.name + (s.telemedicine ? ' (telemedicine)' : '')]), '',
                           {id: 'book-service'});
    const patientText = p => p.name + (p.email ? ' <' + p.email + '>' : '') + refText(p);
    const patient = select([['new', 'A new patient…'],
                            ...patients.map(p => [p.id, patientText(p)])],
                           'new', {id: 'book-patient'});
    const pName = input({id: 'book-patient-name', autocomplete: 'off'});
    const pEmail = input({id: 'book-patient-email', type: 'email', autocomplete: 'off'});
    const newPatient = el('fieldset', {}, el('legend', {text: 'New patient'}),
                          field('Patient name', pName),
                          field('Patient email (optional)', pEmail));
    const soon = new Date(Date.now() + 2 * 3600e3);
    soon.setMinutes(0, 0, 0);
    const zone = input({id: 'book-zone', value: tm.browserZone(), autocomplete: 'off'});
    const start = input({id: 'book-start', type: 'datetime-local',
                         value: wallTime(soon.toISOString(), zone.value)});
    const confirmNow = checkbox('Confirm now (the Google Meet link is made on confirmation ' +
                                'by default)', true, {id: 'book-confirm'});
    const box = statusBox();
    const result = el('div');
    const submit = el('button', {type: 'submit', text: 'Book appointment'});
    patient.addEventListener('change', () => { newPatient.hidden = patient.value !== 'new'; });
    doctor.addEventListener('change', () => {
      const d = byId(doctors, Number(doctor.value));
      if (d && d.time_zone) zone.value = d.time_zone;
    });
    form.append(el('h3', {text: 'Book an appointment'}), field('Doctor', doctor),
                field('Service', service), field('Patient', patient), newPatient,
                field('Start (local time in the zone below)', start),
                field('Time zone', zone, 'An IANA zone such as Europe/London; the patient sees ' +
                      'the time in this zone.'),
                confirmNow.label, el('div', {class: 'row'}, submit), box, result);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      result.replaceChildren();
      if (patient.value === 'new' && !pName.value.trim()) {
        say(box, 'Enter the new patient\'s name.', 'error');
        pName.setAttribute('aria-invalid', 'true');
        pName.focus();
        return;
      }
      pName.removeAttribute('aria-invalid');
      const created = await act(submit, box, async () => {
        let patientId = Number(patient.value);
        if (patient.value === 'new') {
          const body = {name: pName.value.trim(), time_zone: zone.value.trim()};
          if (pEmail.value.trim()) body.email = pEmail.value.trim();
          const p = await api('POST', '/api/v1/patients', body);
          patients.push(p);
          patientId = p.id;
        }
        return api('POST', '/api/v1/appointments', {
          doctor_id: Number(doctor.value), service_id: Number(service.value),
          patient_id: patientId, start: start.value, time_zone: zone.value.trim(),
          status: confirmNow.box.checked ? 'confirmed' : 'booked',
        }, {'Idempotency-Key': 'ui-' + Date.now() + '-' + Math.random().toString(36).slice(2)});
      }, a => 'Booked for ' + when(a.start, a.time_zone) + '.');
      if (created) {
        if (created.access_link && created.access_link.url) {
          result.append(secretShownOnce('Patient link', created.access_link.url,
              'Send this private link to the patient. It is shown only now; a new one can be ' +
              'issued from the appointment (the old one then stops working).'));
        }
        pName.value = '';
        pEmail.value = '';
        changed();
        const root = $('appointments');
        if (root.refresh) root.refresh(false);
      }
    });
    return form;
  }

  function appointmentCard(a, refresh) {
    const d = byId(doctors, a.doctor_id);
    const s = byId(services, a.service_id);
    const p = byId(patients, a.patient_id);
    const m = a.meeting || {state: 'not_needed'};
    const words = a.status === 'cancelled' && m.state === 'not_needed'
        ? {text: 'None (cancelled)', kind: ''} : tm.meetingWords(m);
    const box = appointmentStatus;
    const card = el('li', {class: 'card', 'data-appointment': a.id},
                    el('div', {class: 'title', text: when(a.start, a.time_zone)}),
                    el('div', {class: 'meta', text: (p ? p.name + refText(p)
                                                       : 'Patient #' + a.patient_id) +
                               ' with ' + (d ? d.name : 'doctor #' + a.doctor_id) + ' · ' +
                               (s ? s.name : 'service #' + a.service_id) + ' · ' + a.status}));
    const meeting = el('div', {class: 'row'},
                       el('span', {class: 'badge ' + words.kind, text: 'Meeting: ' + words.text}));
    if (m.join_url && a.status !== 'cancelled') {
      meeting.append(el('a', {href: m.join_url, target: '_blank', rel: 'noopener noreferrer',
                              class: 'meet-link', text: m.join_url}));
    }
    card.append(meeting);
    // Issue 18: who may join, and what Google Meet's records say about the consultation.
    for (const w of [tm.accessWords(m.access_type), tm.attendanceWords(a.attendance, a.time_zone)]
             .filter(Boolean)) {
      card.append(el('div', {class: 'row attendance'},
                     el('span', {class: 'badge ' + w.kind, text: w.text})));
    }
    const actions = el('div', {class: 'row'});
    const label = 'appointment ' + a.id;
    if (a.status === 'booked') {
      const b = el('button', {type: 'button', text: 'Confirm', 'aria-label': 'Confirm ' + label,
                              'data-key': a.id + ':confirm'});
      b.addEventListener('click', async () => {
        if (await act(b, box, () => api('POST', `/api/v1/appointments/${a.id}/confirm`, {}),
                      'Confirmed.')) refresh();
      });
      actions.append(b);
    }
    if (a.status === 'booked' || a.status === 'confirmed') {
      const b = el('button', {type: 'button', class: 'secondary', text: 'Reschedule',
                              'aria-expanded': 'false', 'aria-label': 'Reschedule ' + label,
                              'data-key': a.id + ':reschedule'});
      const moveForm = el('form', {hidden: true, novalidate: true});
      const startIn = input({type: 'datetime-local', value: wallTime(a.start, a.time_zone)});
      const save = el('button', {type: 'submit', text: 'Move appointment'});
      moveForm.append(field('New start (' + a.time_zone + ')', startIn),
                      el('div', {class: 'row'}, save));
      b.addEventListener('click', () => {
        moveForm.hidden = !moveForm.hidden;
        b.setAttribute('aria-expanded', String(!moveForm.hidden));
        if (!moveForm.hidden) startIn.focus();
      });
      moveForm.addEventListener('submit', async event => {
        event.preventDefault();
        if (await act(save, box, () => api('POST', `/api/v1/appointments/${a.id}/reschedule`,
                                           {start: startIn.value, time_zone: a.time_zone}),
                      'Moved. The Meet link stays the same.')) {
          moveForm.hidden = true;
          b.setAttribute('aria-expanded', 'false');
          b.focus();
          refresh();
        }
      });
      const cancel = el('button', {type: 'button', class: 'danger', text: 'Cancel appointment',
                                   'aria-label': 'Cancel ' + label, 'data-key': a.id + ':cancel'});
      cancel.addEventListener('click', async () => {
        if (!confirm('Cancel this appointment? Its Google Calendar event is removed.')) return;
        if (await act(cancel, box, () => api('POST', `/api/v1/appointments/${a.id}/cancel`, {}),
                      'Cancelled.')) refresh();
      });
      const link = el('button', {type: 'button', class: 'secondary', text: 'New patient link',
                                 'aria-label': 'New patient link for ' + label,
                                 'data-key': a.id + ':link'});
      link.addEventListener('click', async () => {
        if (!confirm('Issue a new patient link? The old link stops working.')) return;
        const out = await act(link, box,
                              () => api('POST', `/api/v1/appointments/${a.id}/access_link`, {}),
                              'A new patient link was issued.');
        if (out && out.url) {
          appointmentNotice.replaceChildren(secretShownOnce('Patient link', out.url,
              'Shown only now. Send it to the patient of the appointment on ' +
              when(a.start, a.time_zone) + '.'));
        }
      });
      actions.append(b, cancel, link);
      card.append(actions, moveForm);
    } else {
      card.append(actions);
    }
    historyToggle(a, actions, card);
    return card;
  }

  // ===== An appointment's own audit trail =====
  // Open trails stay open (and are read again) when the polling list re-renders.
  const openTrails = new Set();
  function historyToggle(a, actions, card) {
    const open = openTrails.has(a.id);
    const panel = el('div', {class: 'trail', id: 'trail-' + a.id, hidden: !open});
    const b = el('button', {type: 'button', class: 'secondary', text: 'History',
                            'aria-expanded': String(open), 'aria-controls': panel.id,
                            'aria-label': 'History of appointment ' + a.id,
                            'data-key': a.id + ':history'});
    b.addEventListener('click', () => {
      panel.hidden = !panel.hidden;
      b.setAttribute('aria-expanded', String(!panel.hidden));
      if (panel.hidden) {
        openTrails.delete(a.id);
      } else {
        openTrails.add(a.id);
        loadTrail(a, panel);
      }
    });
    actions.append(b);
    card.append(panel);
    if (open) loadTrail(a, panel);
  }

  // The last trail read per appointment: a re-rendered card shows it at once, then reads again.
  const trails = new Map();
  function renderTrail(a, panel, entries) {
    const items = entries.map(e => el('li', {},
        el('span', {class: 'meta', text: tm.formatTime(e.at, a.time_zone) + ' · ' + e.actor +
                                         ' · '}),
        el('span', {text: e.action}), ' ', detailText(e.detail)));
    panel.replaceChildren(el('h4', {text: 'History'}),
                          items.length ? el('ol', {class: 'trail-list'}, ...items)
                                       : el('p', {class: 'muted', text: 'Nothing recorded.'}));
  }
  async function loadTrail(a, panel) {
    if (trails.has(a.id)) renderTrail(a, panel, trails.get(a.id));
    else panel.replaceChildren(el('p', {class: 'muted', text: 'Loading…'}));
    try {
      const entries = await listAll(`/api/v1/appointments/${a.id}/audit`);
      trails.set(a.id, entries);
      renderTrail(a, panel, entries);
    } catch (e) {
      panel.replaceChildren(el('p', {class: 'status error',
                                     text: 'The history could not be loaded: ' + errorText(e)}));
    }
  }

  // An entry's detail, compact: "changed: a, b · field: value", empty values left out.
  function detailText(detail) {
    if (!detail || typeof detail !== 'object') return el('span');
    const entries = Object.entries(detail)
        .filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length))
        .sort(([a], [b]) => (b === 'changed') - (a === 'changed'));
    const parts = entries.map(([k, v]) =>
        k + ': ' + (Array.isArray(v) ? v.join(', ') : typeof v === 'object'
                                                          ? JSON.stringify(v) : String(v)));
    return el('span', {class: 'meta', text: parts.length ? '(' + parts.join(' · ') + ')' : ''});
  }

  // ===== Meetings needing attention =====
  async function showMeetings(root) {
    await loadCatalog();
    const groups = [['failed', 'Failed'], ['needs_reconnect', 'Waiting for a doctor to reconnect'],
                    ['awaiting_doctor', 'Waiting for a doctor to connect Google']];
    const lists = await Promise.all(groups.map(([s]) => listAll('/api/v1/meetings?state=' + s)));
    root.replaceChildren();
    if (lists.every(l => l.length === 0)) {
      root.append(el('p', {class: 'status ok', text: 'No meeting needs attention.'}));
      return;
    }
    for (let i = 0; i < groups.length; i++) {
      if (!lists[i].length) continue;
      const ul = el('ul', {class: 'list'});
      for (const m of lists[i]) {
        let a = null;
        try {
          a = await api('GET', '/api/v1/appointments/' + m.appointment_id);
        } catch (e) {
          // Shown with what the meeting itself says.
        }
        const d = a && byId(doctors, a.doctor_id);
        const box = statusBox();
        const li = el('li', {class: 'card'},
                      el('div', {class: 'title', text: a ? when(a.start, a.time_zone)
                                                         : 'Appointment ' + m.appointment_id}),
                      el('div', {class: 'meta', text: (d ? d.name : '') +
                                 (m.last_error ? ' · ' + m.last_error : '') +
                                 ' · attempts: ' + (m.attempts || 0)}));
        if (m.state === 'failed') {
          const b = el('button', {type: 'button', text: 'Retry',
                                  'aria-label': 'Retry the meeting of appointment ' +
                                                m.appointment_id});
          b.addEventListener('click', async () => {
            if (await act(b, box, () => api('POST', `/api/v1/appointments/${m.appointment_id}` +
                                                    '/meeting/retry', {}),
                          'Retrying: the meeting is being created again.')) {
              setTimeout(() => showMeetings(root), 1500);
            }
          });
          li.append(el('div', {class: 'row'}, b));
        } else {
          li.append(el('p', {class: 'hint', text: (d ? d.name : 'The doctor') +
              ' must sign in and press "' + (m.state === 'needs_reconnect' ? 'Reconnect' : 'Connect') +
              ' Google"; the meeting is then made by itself.'}));
        }
        li.append(box);
        ul.append(li);
      }
      root.append(el('h3', {text: groups[i][1] + ' (' + lists[i].length + ')'}), ul);
    }
  }

  // ===== Doctors =====
  async function showDoctors(root) {
    doctors = await listAll('/api/v1/doctors');
    const ul = el('ul', {class: 'list'});
    for (const d of doctors) {
      let g = null;
      try {
        g = await api('GET', `/api/v1/doctors/${d.id}/google`);
      } catch (e) {
        g = {status: 'unknown'};
      }
      const kind = g.status === 'active' ? 'ok' : g.status === 'needs_reconnect' ? 'bad' : 'warn';
      const words = {active: 'Google connected' + (g.account_email ? ' (' + g.account_email + ')' : ''),
                     needs_reconnect: 'Google needs reconnecting', not_connected: 'Google not connected',
                     disconnected: 'Google disconnected'}[g.status] || 'Google status unknown';
      ul.append(el('li', {class: 'card'},
                   el('div', {class: 'title', text: d.name + (d.active === false ? ' (deactivated)' : '')}),
                   el('div', {class: 'meta', text: d.email + ' · ' + d.time_zone + refText(d)}),
                   el('span', {class: 'badge ' + kind, text: words})));
    }
    const form = el('form', {class: 'panel', novalidate: true});
    const name = input({autocomplete: 'off'});
    const email = input({type: 'email', autocomplete: 'off'});
    const zone = input({value: tm.browserZone(), autocomplete: 'off'});
    const password = input({type: 'password', autocomplete: 'new-password', minlength: '10'});
    const ref = input({autocomplete: 'off', maxlength: '200'});
    const box = statusBox();
    const submit = el('button', {type: 'submit', text: 'Add doctor'});
    form.append(el('h3', {text: 'Add a doctor'}), field('Name', name),
                field('Email', email, 'Also the doctor\'s sign-in name.'),
                field('Time zone', zone), field(REF_LABEL, ref, REF_HINT),
                field('Sign-in password', password,
                      'At least 10 characters. Leave empty to add the doctor without a sign-in.'),
                el('div', {class: 'row'}, submit), box);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const made = await act(submit, box, async () => {
        const body = {name: name.value.trim(), email: email.value.trim(),
                      time_zone: zone.value.trim()};
        if (ref.value.trim()) body.external_ref = ref.value.trim();
        const d = await api('POST', '/api/v1/doctors', body);
        if (password.value) {
          try {
            await api('POST', '/api/v1/users', {email: d.email, name: d.name,
                                                password: password.value, role: 'doctor',
                                                doctor_id: d.id});
          } catch (e) {
            throw new ApiError(e.status, e.code, 'The doctor was added, but the sign-in was not: ' +
                               e.message, e.field);
          }
        }
        return d;
      }, d => d.name + ' was added' + (password.value ? ' with a sign-in.' : '.'));
      if (made) {
        const keep = box.textContent;
        await showDoctors(root);
        say(root.querySelector('form .status'), keep, 'ok');
      }
    });
    root.replaceChildren(doctors.length ? ul : el('p', {class: 'muted', text: 'No doctors yet.'}),
                         form);
  }

  // ===== Services =====
  async function showServices(root) {
    services = await listAll('/api/v1/services');
    const ul = el('ul', {class: 'list'});
    for (const s of services) ul.append(serviceForm(s, root));
    ul.append(serviceForm(null, root));
    root.replaceChildren(ul);
  }

  function serviceForm(s, root) {
    const form = el('form', {class: 'card', novalidate: true});
    const name = input({value: s ? s.name : '', autocomplete: 'off'});
    const tele = checkbox('Telemedicine: make a Google Meet consultation', s ? s.telemedicine : true);
    const minutes = input({type: 'number', min: '1', max: '1440',
                           value: s ? s.default_duration_minutes : 30});
    const title = input({value: s ? s.title_template : '{service} with {doctor}', autocomplete: 'off'});
    const ref = input({value: s && s.external_ref ? s.external_ref : '', autocomplete: 'off',
                       maxlength: '200'});
    const box = statusBox();
    const submit = el('button', {type: 'submit', text: s ? 'Save service' : 'Add service',
                                 'aria-label': s ? 'Save service ' + s.name : 'Add service'});
    form.append(el('h3', {text: s ? s.name : 'Add a service'}),
                s && s.external_ref ? el('div', {class: 'meta', text: refText(s).slice(3)}) : null,
                field('Name', name), tele.label,
                field('Duration (minutes)', minutes),
                field('Calendar event title', title,
                      'Placeholders: {service} {doctor} {patient}. Keep patient data minimal.'),
                field(REF_LABEL, ref, REF_HINT), el('div', {class: 'row'}, submit), box);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const body = {name: name.value.trim(), telemedicine: tele.box.checked,
                    default_duration_minutes: Number(minutes.value), title_template: title.value};
      // Sent only when set or changed, so saving a service leaves its id alone.
      if (ref.value.trim() !== ((s && s.external_ref) || '')) body.external_ref = ref.value.trim();
      const out = await act(submit, box,
                            () => s ? api('PATCH', '/api/v1/services/' + s.id, body)
                                    : api('POST', '/api/v1/services', body),
                            x => (s ? 'Saved ' : 'Added ') + x.name + '.');
      if (out && !s) await showServices(root);
    });
    return el('li', {}, form);
  }

  // ===== API keys =====
  async function showApiKeys(root) {
    const keys = await listAll('/api/v1/api_keys');
    const ul = el('ul', {class: 'list'});
    for (const k of keys) {
      const box = statusBox();
      const li = el('li', {class: 'card'},
                    el('div', {class: 'title', text: k.name}),
                    el('div', {class: 'meta', text: 'tm_' + k.prefix + '_… · ' +
                               (k.scopes || []).join(', ') + ' · created ' +
                               tm.formatTime(k.created_at) +
                               (k.last_used_at ? ' · last used ' + tm.formatTime(k.last_used_at)
                                               : ' · never used')}));
      if (k.revoked_at) {
        li.append(el('span', {class: 'badge bad', text: 'Revoked ' + tm.formatTime(k.revoked_at)}));
      } else {
        const b = el('button', {type: 'button', class: 'danger', text: 'Revoke',
                                'aria-label': 'Revoke API key ' + k.name});
        b.addEventListener('click', async () => {
          if (!confirm('Revoke the key "' + k.name + '"? Integrations using it stop working.')) return;
          if (await act(b, box, () => api('DELETE', '/api/v1/api_keys/' + k.id), 'Revoked.')) {
            await showApiKeys(root);
          }
        });
        li.append(el('div', {class: 'row'}, b));
      }
      li.append(box);
      ul.append(li);
    }
    const form = el('form', {class: 'panel', novalidate: true});
    const name = input({autocomplete: 'off'});
    const read = checkbox('read', true);
    const write = checkbox('write', true);
    const box = statusBox();
    const shown = el('div');
    const submit = el('button', {type: 'submit', text: 'Create API key'});
    form.append(el('h3', {text: 'Create an API key'}), field('Name', name, 'Who uses it, e.g. ' +
                '"booking system".'),
                el('fieldset', {}, el('legend', {text: 'Scopes'}), read.label, write.label),
                el('div', {class: 'row'}, submit), box, shown);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const scopes = [read.box.checked && 'read', write.box.checked && 'write'].filter(Boolean);
      const k = await act(submit, box, () => api('POST', '/api/v1/api_keys',
                                                 {name: name.value.trim(), scopes}),
                          x => 'Created "' + x.name + '".');
      if (k) {
        const keep = box.textContent;
        await showApiKeys(root);
        const again = root.querySelector('form');
        say(again.querySelector('.status'), keep, 'ok');
        again.append(secretShownOnce('New API key', k.secret,
            'Copy it now: telemeet stores only a hash and cannot show it again.'));
      }
    });
    root.replaceChildren(keys.length ? ul : el('p', {class: 'muted', text: 'No API keys yet.'}), form);
  }

  // ===== Webhooks =====
  const TOPICS = ['meeting.ready', 'meeting.updated', 'meeting.failed', 'meeting.cancelled',
                  'doctor.needs_reconnect', 'appointment.changed_in_google',
                  'doctor.google_account_changed', 'appointment.attended', 'appointment.no_show'];
  async function showWebhooks(root) {
    const [endpoints, events] = await Promise.all([listAll('/api/v1/webhook_endpoints'),
                                                   api('GET', '/api/v1/events?limit=20')]);
    const ul = el('ul', {class: 'list'});
    for (const w of endpoints) {
      const box = statusBox();
      const active = checkbox('Active', w.active);
      active.box.addEventListener('change', () => act(active.box, box,
          () => api('PATCH', '/api/v1/webhook_endpoints/' + w.id, {active: active.box.checked}),
          active.box.checked ? 'Deliveries resumed.' : 'Paused: nothing is delivered.'));
      const del = el('button', {type: 'button', class: 'danger', text: 'Delete',
                                'aria-label': 'Delete webhook ' + w.url});
      del.addEventListener('click', async () => {
        if (!confirm('Delete the webhook ' + w.url + '?')) return;
        if (await act(del, box, () => api('DELETE', '/api/v1/webhook_endpoints/' + w.id),
                      'Deleted.')) await showWebhooks(root);
      });
      // A new signing secret; until the grace ends deliveries carry both signatures, so the
      // receiver can switch over without losing one.
      const rotate = el('button', {type: 'button', class: 'secondary', text: 'Rotate secret',
                                   'aria-label': 'Rotate secret of webhook ' + w.url});
      const card = el('li', {class: 'card'});
      rotate.addEventListener('click', async () => {
        if (!confirm('Make a new signing secret for ' + w.url + '? For a day, deliveries are ' +
                     'signed with the new and the old one.')) return;
        const r = await act(rotate, box,
                            () => api('POST', '/api/v1/webhook_endpoints/' + w.id +
                                      '/rotate_secret', {}), 'Rotated.');
        if (r) {
          card.querySelector('[role=group]')?.remove();
          card.append(secretShownOnce('New signing secret', r.secret,
              'Deliveries carry a Telemeet-Signature with v1 for this secret and for the old one ' +
              'until ' + new Date(r.previous_secret_expires_at).toLocaleString() +
              ': give it to the receiver before then. Shown only now.'));
        }
      });
      card.append(el('div', {class: 'title'}, el('code', {text: w.url})),
                  el('div', {class: 'meta', text: (w.topics && w.topics.length
                                                       ? w.topics.join(', ') : 'all topics')}),
                  el('div', {class: 'row'}, active.label, rotate, del), box);
      ul.append(card);
    }
    const form = el('form', {class: 'panel', novalidate: true});
    const url = input({type: 'url', autocomplete: 'off', placeholder: 'https://'});
    const boxes = TOPICS.map(t => checkbox(t, false));
    const box = statusBox();
    const submit = el('button', {type: 'submit', text: 'Add webhook'});
    form.append(el('h3', {text: 'Add a webhook endpoint'}), field('URL', url),
                el('fieldset', {}, el('legend', {text: 'Topics (none ticked: all)'}),
                   ...boxes.map(b => b.label)),
                el('div', {class: 'row'}, submit), box);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const topics = TOPICS.filter((t, i) => boxes[i].box.checked);
      const w = await act(submit, box, () => api('POST', '/api/v1/webhook_endpoints',
                                                 {url: url.value.trim(), topics}),
                          'Added.');
      if (w) {
        await showWebhooks(root);
        root.querySelector('form').append(secretShownOnce('Signing secret', w.secret,
            'Verify the Telemeet-Signature HMAC with it. Shown only now.'));
      }
    });
    const evUl = el('ul', {class: 'list'});
    for (const ev of events.data) {
      const out = el('div');
      const b = el('button', {type: 'button', class: 'secondary', text: 'Deliveries',
                              'aria-expanded': 'false',
                              'aria-label': 'Deliveries of event ' + ev.id + ' ' + ev.type});
      b.addEventListener('click', async () => {
        if (b.getAttribute('aria-expanded') === 'true') {
          out.replaceChildren();
          b.setAttribute('aria-expanded', 'false');
          return;
        }
        try {
          const d = await api('GET', `/api/v1/events/${ev.id}/deliveries`);
          out.replaceChildren(d.data.length
              ? el('ul', {}, ...d.data.map(x => el('li', {text: x.status + ' to endpoint ' +
                    x.endpoint_id + ', ' + x.attempts + ' attempt(s)' +
                    (x.response_status ? ', HTTP ' + x.response_status : '') +
                    (x.last_error ? ', ' + x.last_error : '')})))
              : el('p', {class: 'muted', text: 'No deliveries (no endpoint wanted this topic).'}));
          b.setAttribute('aria-expanded', 'true');
        } catch (e) {
          out.replaceChildren(el('p', {class: 'status error', text: errorText(e)}));
        }
      });
      evUl.append(el('li', {class: 'card'},
                     el('div', {class: 'title', text: ev.type}),
                     el('div', {class: 'meta', text: tm.formatTime(ev.created_at) +
                                (ev.appointment_id ? ' · appointment ' + ev.appointment_id : '')}),
                     b, out));
    }
    root.replaceChildren(endpoints.length ? ul : el('p', {class: 'muted', text: 'No webhook endpoints yet.'}),
                         form, el('h3', {text: 'Recent events'}),
                         events.data.length ? evUl : el('p', {class: 'muted', text: 'No events yet.'}));
  }

  // ===== Google settings =====
  let openapi = null;
  async function apiHas(pathName) {
    if (!openapi) {
      try {
        openapi = await api('GET', '/api/v1/openapi.json');
      } catch (e) {
        openapi = {paths: {}};
      }
    }
    return Object.prototype.hasOwnProperty.call(openapi.paths || {}, pathName);
  }

  async function showGoogle(root) {
    const g = await api('GET', '/api/v1/settings/google');
    const form = el('form', {class: 'panel', novalidate: true, id: 'google-form'});
    const clientId = input({value: g.client_id || '', autocomplete: 'off', id: 'google-client-id'});
    const secret = input({type: 'password', autocomplete: 'new-password', id: 'google-secret',
                          placeholder: g.client_secret_set ? '(saved; type to replace)' : ''});
    const redirect = input({value: g.redirect_uri || '', id: 'google-redirect', autocomplete: 'off'});
    const scope = input({value: g.scope || '', id: 'google-scope', autocomplete: 'off'});
    const copyBox = statusBox();
    const copy = el('button', {type: 'button', class: 'secondary', text: 'Copy',
                               'aria-label': 'Copy the redirect URI',
                               onclick: () => tm.copyFrom('google-redirect', copyBox)});
    const box = statusBox();
    const save = el('button', {type: 'submit', text: 'Save Google settings'});
    const buttons = el('div', {class: 'row'}, save);
    form.append(
        field('Client ID', clientId, 'From Google Cloud console → APIs & Services → Credentials.'),
        field('Client secret', secret, g.client_secret_set
            ? 'A secret is saved. It is never shown; type a new one only to replace it.'
            : 'No secret saved yet.'),
        el('label', {for: 'google-redirect', text: 'Redirect URI'}),
        el('div', {class: 'field-row'}, redirect, copy),
        el('p', {class: 'hint', text: 'Add exactly this URI to the OAuth client\'s "Authorised ' +
                                      'redirect URIs" in Google Cloud.'}),
        copyBox, field('Scope', scope), buttons, box);
    if (await apiHas('/api/v1/settings/google/test')) {
      const check = el('button', {type: 'button', class: 'secondary', text: 'Check',
                                  title: 'Asks Google whether it accepts the saved client id ' +
                                         'and secret'});
      check.addEventListener('click', () => act(check, box,
          () => api('POST', '/api/v1/settings/google/test', {}),
          r => r && r.ok === false ? 'Google did not accept the client: ' +
                                         (r.message || r.reason || 'unknown reason')
                                   : 'Google accepted the client settings' +
                                         (r && r.message ? ': ' + r.message : '.')));
      buttons.append(check);
    }
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const body = {client_id: clientId.value.trim(), redirect_uri: redirect.value.trim(),
                    scope: scope.value.trim()};
      if (secret.value) body.client_secret = secret.value;
      if (await act(save, box, () => api('PATCH', '/api/v1/settings/google', body),
                    'Saved. Doctors connect (or reconnect) with these settings from now on.')) {
        secret.value = '';
        secret.placeholder = '(saved; type to replace)';
      }
    });
    root.replaceChildren(form);
  }

  // ===== Meeting policies =====
  async function showPolicies(root) {
    const p = await api('GET', '/api/v1/settings/meetings');
    const form = el('form', {class: 'panel', novalidate: true, id: 'policies-form'});
    const createOn = select([['confirmation', 'When the appointment is confirmed'],
                             ['booking', 'As soon as it is booked']], p.create_on,
                            {id: 'policy-create-on'});
    const sendUpdates = select([['none', 'None (the clinic sends its own emails)'],
                                ['externalOnly', 'Only to guests outside the clinic'],
                                ['all', 'All guests (only with patient invitations on)']],
                               p.send_updates, {id: 'policy-send-updates'});
    const cancelMode = select([['delete', 'Delete the event'],
                               ['mark_cancelled', 'Keep the event, marked cancelled']],
                              p.cancel_mode, {id: 'policy-cancel-mode'});
    // Older servers answer without these two; they are then left out of the save.
    const invite = checkbox('Invite the patient to the Google event', p.invite_patient,
                            {id: 'policy-invite-patient'});
    const reminders = input({id: 'policy-event-reminders', value: p.event_reminders || 'default',
                             placeholder: 'default', spellcheck: 'false'});
    // Issue 18; older servers answer without these and they are then left out of the save.
    const accessType = select([['default', 'As Google sets it'],
                               ['restricted', 'Invited people only (others knock)'],
                               ['trusted', 'The organisation and invited guests'],
                               ['open', 'Anyone with the link']], p.access_type || 'default',
                              {id: 'policy-access-type'});
    const attendance = select([['off', 'Off'],
                               ['record', 'Record and show it'],
                               ['complete', 'Record it and mark consultations completed']],
                              p.attendance || 'off', {id: 'policy-attendance'});
    const minMinutes = input({id: 'policy-attendance-min', type: 'number', min: '0',
                              max: '1440', value: String(p.attendance_min_minutes ?? 5)});
    const box = statusBox();
    const save = el('button', {type: 'submit', text: 'Save policies'});
    const meetPolicies = p.attendance !== undefined
        ? [field('Who may join the Meet call without knocking', accessType,
                 'Set on each meeting once its conference exists. Needs each doctor to allow ' +
                 '"who may join" on their page; if Google refuses, the meeting says so and ' +
                 'its link works as before.'),
           field('Attendance from Google Meet', attendance,
                 'Read from Meet\'s own records after each consultation: who joined (counts ' +
                 'and times, never names) and how long doctor and patient were together. ' +
                 '"Mark completed" also completes the consultation, and flags a no-show when ' +
                 'only the doctor came. Needs each doctor to allow attendance on their page.'),
           field('Minutes together that count as held', minMinutes, 'From 0 to 1440.')]
        : [];
    form.append(field('Create the Google Meet meeting', createOn),
                invite.label,
                el('p', {class: 'hint', text: 'The patient (when they have an email) becomes a ' +
                    'guest of the event. Changing it, or the patient\'s email, updates the ' +
                    'guests of each event when its appointment is next reconciled.'}),
                field('Google\'s own invitation emails (sendUpdates)', sendUpdates,
                      'Google emails guests on create, reschedule and cancel. The event\'s only ' +
                      'guest is the invited patient: "All guests" and "Only to guests outside ' +
                      'the clinic" only matter with patient invitations on.'),
                field('On cancellation', cancelMode),
                field('Event reminders', reminders,
                      '"default" for the calendar\'s own reminders, or up to 5 such as ' +
                      '"popup:10,email:60" (popup or email, minutes before the start, ' +
                      'at most 40320).'),
                ...meetPolicies,
                el('div', {class: 'row'}, save), box);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const body = {create_on: createOn.value, send_updates: sendUpdates.value,
                    cancel_mode: cancelMode.value};
      if (p.invite_patient !== undefined) body.invite_patient = invite.box.checked;
      if (p.event_reminders !== undefined) body.event_reminders = reminders.value.trim();
      if (p.attendance !== undefined) {
        body.access_type = accessType.value;
        body.attendance = attendance.value;
        const n = Number(minMinutes.value);
        if (!Number.isInteger(n) || n < 0 || n > 1440) {
          say(box, 'Minutes together must be a whole number from 0 to 1440.', 'error');
          minMinutes.setAttribute('aria-invalid', 'true');
          minMinutes.focus();
          return;
        }
        minMinutes.removeAttribute('aria-invalid');
        body.attendance_min_minutes = n;
      }
      const saved = await act(save, box, () => api('PATCH', '/api/v1/settings/meetings', body),
                              'Saved. New and changed appointments follow these policies.');
      if (saved && saved.event_reminders) reminders.value = saved.event_reminders;  // normal form
    });
    root.replaceChildren(form, await bookingPolicyForm());
  }

  // The booking policy (google_busy): what a booking into a time the doctor's Google Calendar
  // is busy does.
  async function bookingPolicyForm() {
    const b = await api('GET', '/api/v1/settings/booking');
    const form = el('form', {class: 'panel', novalidate: true, id: 'booking-policy-form'});
    const googleBusy = select([['warn', 'Book it, with a warning'],
                               ['refuse', 'Refuse the booking'],
                               ['ignore', 'Do not check Google Calendar']], b.google_busy,
                              {id: 'policy-google-busy'});
    const box = statusBox();
    const save = el('button', {type: 'submit', text: 'Save booking policy'});
    form.append(field('When the doctor\'s Google Calendar is busy at the booked time', googleBusy,
                      'Checked when an appointment is booked or moved. The appointment\'s own ' +
                          'Google event never counts. If Google cannot be asked, "Refuse" ' +
                          'refuses the booking and "warn" books it with a warning.'),
                el('div', {class: 'row'}, save), box);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      await act(save, box, () => api('PATCH', '/api/v1/settings/booking',
                                     {google_busy: googleBusy.value}),
                'Saved. Bookings and reschedules follow this policy from now on.');
    });
    return form;
  }

  // ===== Notification templates =====
  const EVENT_WORDS = {
    'meeting.ready': 'Meet link ready', 'meeting.rescheduled': 'Rescheduled',
    'meeting.cancelled': 'Cancelled', 'doctor.needs_reconnect': 'Google needs reconnecting',
    'appointment.reminder': 'Reminder before the consultation',
  };
  function templateTitle(t) {
    const event = t.event || t.name.split('.').slice(0, -1).join('.');
    const recipient = t.recipient || t.name.split('.').pop();
    return (EVENT_WORDS[event] || event) + ' — to the ' + recipient;
  }

  async function showNotifications(root, selected) {
    let settings;
    try {
      settings = await api('GET', '/api/v1/settings/notifications');
    } catch (e) {
      if (e.status === 404 || e.status === 405) {
        root.replaceChildren(el('p', {class: 'muted',
            text: 'Notification templates are not available in this version of telemeet.'}));
        return;
      }
      throw e;
    }
    const templates = settings.templates || [];
    if (!templates.length) {
      root.replaceChildren(el('p', {class: 'muted', text: 'No email templates are defined.'}));
      return;
    }
    const pick = select(templates.map(t => [t.name, templateTitle(t) +
                                                    (Object.values(t.customized || {}).some(Boolean)
                                                         ? ' (customized)' : '')]),
                        selected || templates[0].name, {id: 'template-pick'});
    const editor = el('div');
    const vars = el('details', {class: 'panel'},
                    el('summary', {text: 'Placeholders you can use'}),
                    el('ul', {}, ...(settings.variables || []).map(v => el('li', {},
                        el('code', {text: '{{' + v.name + '}}'}), ' — ' + (v.description || '') +
                        (v.sample ? ' (e.g. ' + v.sample + ')' : '')))),
                    el('p', {class: 'hint', text: 'A section {{#name}}…{{/name}} shows only when ' +
                                                  'the value is not empty. Values are escaped ' +
                                                  'for HTML automatically.'}));
    const render = () => editor.replaceChildren(templateEditor(
        templates.find(t => t.name === pick.value), root));
    pick.addEventListener('change', render);
    const reminders = await remindersForm();
    root.replaceChildren(...(reminders ? [reminders] : []), field('Email', pick), vars, editor);
    render();
  }

  // The lead times of the patient reminder emails: the admin's list replaces the configuration's
  // (notify.reminders) until reset.
  async function remindersForm() {
    let r;
    try {
      r = await api('GET', '/api/v1/settings/reminders');
    } catch (e) {
      if (e.status === 404 || e.status === 405) return null;
      throw e;
    }
    const form = el('form', {class: 'panel', novalidate: true, id: 'reminders-form'});
    const leads = input({value: r.lead_times.join(', '), id: 'reminder-leads',
                         autocomplete: 'off'});
    const source = out => (out.customized ? 'Set here. ' : 'From the configuration. ') +
        'The configuration says ' + (out.defaults.join(', ') || 'none') + '.';
    const box = statusBox();
    const save = el('button', {type: 'submit', text: 'Save reminders'});
    const reset = el('button', {type: 'button', class: 'secondary',
                                text: 'Use the configuration\'s'});
    form.append(el('h3', {text: 'Patient reminders'}),
                el('p', {class: 'hint', text: 'An email to the patient before each booked or ' +
                    'confirmed consultation, with the Google Meet link (or, until the link is ' +
                    'ready, their appointment page). Write the times before the start with ' +
                    'commas, like 24h, 1h or 2d, 90m; leave empty for no reminders.'}),
                field('Remind patients before the start', leads, source(r)),
                el('div', {class: 'row'}, save, reset), box);
    const saved = out => {
      leads.removeAttribute('aria-invalid');
      leads.value = out.lead_times.join(', ');
      form.querySelector('#reminder-leads-hint').textContent = source(out);
    };
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const list = leads.value.split(',').map(v => v.trim()).filter(Boolean);
      const out = await act(save, box,
                            () => api('PATCH', '/api/v1/settings/reminders', {lead_times: list}),
                            'Saved. Upcoming consultations get reminders at these times.');
      if (out) saved(out);
      else leads.setAttribute('aria-invalid', 'true');
    });
    reset.addEventListener('click', async () => {
      const out = await act(reset, box,
                            () => api('PATCH', '/api/v1/settings/reminders', {lead_times: null}),
                            'Back to the configuration\'s reminders.');
      if (out) saved(out);
    });
    return form;
  }

  function templateEditor(t, root) {
    const form = el('form', {class: 'panel', novalidate: true, id: 'template-form'});
    const note = part => (t.customized && t.customized[part]) ? 'Customized.' : 'The default.';
    const subject = input({value: t.subject, id: 'template-subject', autocomplete: 'off'});
    const text = el('textarea', {id: 'template-text', rows: '8'});
    text.value = t.text;
    const html = el('textarea', {id: 'template-html', rows: '8'});
    html.value = t.html;
    const box = statusBox();
    const preview = el('div', {'aria-live': 'polite'});
    const save = el('button', {type: 'submit', text: 'Save template'});
    const show = el('button', {type: 'button', class: 'secondary', text: 'Preview'});
    const reset = el('button', {type: 'button', class: 'danger', text: 'Reset to default'});
    const path = '/api/v1/settings/notifications/' + encodeURIComponent(t.name);
    const body = () => ({subject: subject.value, text: text.value, html: html.value});
    const mark = e => {
      for (const c of [subject, text, html]) c.removeAttribute('aria-invalid');
      const bad = {subject, text, html}[e && e.field];
      if (bad) {
        bad.setAttribute('aria-invalid', 'true');
        bad.focus();
      }
    };
    form.append(el('h3', {text: templateTitle(t)}),
                field('Subject', subject, note('subject')),
                field('Plain text', text, note('text')),
                field('HTML', html, note('html')),
                el('div', {class: 'row'}, save, show, reset), box, preview);
    show.addEventListener('click', async () => {
      const out = await act(show, box, () => api('POST', path + '/preview', body()),
                            'Preview with sample values below (nothing saved).');
      if (!out) return;
      preview.replaceChildren(el('h4', {text: 'Subject'}), el('p', {text: out.subject}),
                              el('h4', {text: 'Plain text'}), el('pre', {class: 'secret', text: out.text}),
                              el('h4', {text: 'HTML (source)'}), el('pre', {class: 'secret', text: out.html}));
    });
    form.addEventListener('submit', async event => {
      event.preventDefault();
      try {
        save.disabled = true;
        // Only the parts that were edited: the others stay as they are (default or not).
        const changes = {};
        const now = body();
        for (const part of ['subject', 'text', 'html']) {
          if (now[part] !== t[part]) changes[part] = now[part];
        }
        if (!Object.keys(changes).length) {
          say(box, 'Nothing changed.', 'info');
          return;
        }
        await api('PATCH', path, changes);
        mark(null);
        await showNotifications(root, t.name);
        say(root.querySelector('#template-form .status'), 'Saved. New emails use this template.',
            'ok');
      } catch (e) {
        mark(e);
        say(box, errorText(e), 'error');
      } finally {
        save.disabled = false;
      }
    });
    reset.addEventListener('click', async () => {
      if (!confirm('Reset this template to the default text?')) return;
      if (await act(reset, box, () => api('PATCH', path, {subject: null, text: null, html: null}),
                    'Reset to the default.')) {
        await showNotifications(root, t.name);
        say(root.querySelector('#template-form .status'), 'Reset to the default.', 'ok');
      }
    });
    return form;
  }

  // ===== Audit of admin changes =====
  const AUDIT_KINDS = [['', 'All changes'], ['settings', 'Settings'],
                       ['google_settings', 'Google settings'], ['user', 'Users'],
                       ['api_key', 'API keys'], ['webhook_endpoint', 'Webhook endpoints'],
                       ['google_connection', 'Google connections']];
  async function showAudit(root, kind) {
    const users = await listAll('/api/v1/users').catch(() => []);
    const who = actor => {
      const u = actor.startsWith('user:') && byId(users, Number(actor.slice(5)));
      return u ? u.email + ' (' + actor + ')' : actor;
    };
    const filter = select(AUDIT_KINDS, kind || '', {id: 'audit-kind'});
    const list = el('ul', {class: 'list', id: 'audit-list'});
    const state = el('p', {class: 'muted', role: 'status', 'aria-live': 'polite'});
    const more = el('button', {type: 'button', class: 'secondary', text: 'Older entries',
                               hidden: true, id: 'audit-more'});
    let cursor = '';
    async function page(first) {
      const q = '/api/v1/audit?limit=20' + (filter.value ? '&kind=' + filter.value : '') +
                (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
      const out = await api('GET', q);
      if (first) list.replaceChildren();
      list.append(...out.data.map(e => el('li', {class: 'card', 'data-audit': e.id},
          el('div', {class: 'title', text: e.action + (e.target ? ' — ' + e.target : '')}),
          el('div', {class: 'meta', text: tm.formatTime(e.at, tm.browserZone()) + ' · ' +
                                          who(e.actor)}),
          detailText(e.detail))));
      cursor = out.next_cursor || '';
      more.hidden = !cursor;
      state.textContent = list.childElementCount
          ? list.childElementCount + ' change' + (list.childElementCount === 1 ? '' : 's') +
                ' shown, newest first.'
          : 'No changes recorded yet.';
    }
    filter.addEventListener('change', () => {
      cursor = '';
      page(true).catch(e => { state.textContent = errorText(e); });
    });
    more.addEventListener('click', () => page(false).catch(e => {
      state.textContent = errorText(e);
    }));
    root.replaceChildren(
        el('p', {class: 'hint', text: 'Who changed settings, users, API keys and webhooks, and ' +
                                      'when. Secrets are never recorded. Each appointment\'s ' +
                                      'own history is under History on its card.'}),
        field('Show', filter), state, list, el('div', {class: 'row'}, more));
    await page(true);
  }

  // ===== Sections =====
  const sections = {
    appointments: showAppointments, meetings: showMeetings, doctors: showDoctors,
    services: showServices, 'api-keys': showApiKeys, webhooks: showWebhooks, google: showGoogle,
    policies: showPolicies, notifications: showNotifications, audit: showAudit,
  };
  // `moveFocus`: after a tab was chosen, focus goes to the section's heading so keyboard and
  // screen reader users land on what they opened.
  async function show(moveFocus) {
    clearTimeout(appointmentTimer);
    const name = sections[location.hash.slice(1)] ? location.hash.slice(1) : 'appointments';
    for (const key of Object.keys(sections)) $('sec-' + key).hidden = key !== name;
    for (const a of $('tabs').querySelectorAll('a')) {
      if (a.getAttribute('href') === '#' + name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const root = $(name);
    document.title = $('h-' + name).textContent + ' - telemeet';
    if (moveFocus === true) {
      $('h-' + name).setAttribute('tabindex', '-1');
      $('h-' + name).focus();
    }
    try {
      await sections[name](root);
    } catch (e) {
      root.replaceChildren(el('p', {class: 'status error', role: 'alert',
                                    text: 'This section could not be loaded: ' + errorText(e)}));
    }
  }
  window.addEventListener('hashchange', () => show(true));
  await show(location.hash !== hashAtLoad);
})();
