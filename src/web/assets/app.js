// Shared helpers of the telemeet pages: calling the REST API with the session cookie and the
// CSRF token, the signed-in user, building DOM nodes, status messages and time formatting.
'use strict';

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const tm = (() => {
  let session = null;

  // Calls the API; resolves to the parsed JSON body (null when empty), rejects with an
  // ApiError carrying the API's own message.
  async function api(method, path, body, extraHeaders) {
    const headers = Object.assign({Accept: 'application/json'}, extraHeaders || {});
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && session && session.csrf_token) {
      headers['X-CSRF-Token'] = session.csrf_token;
    }
    let res;
    try {
      res = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network',
                         'telemeet could not be reached. Check the connection and try again.');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const e = new ApiError(res.status, err.code || 'http_' + res.status,
                             err.message || 'The server answered ' + res.status + '.', err.field);
      // Seconds to wait before asking again (rate limits answer 429 with it).
      e.retryAfter = Number(res.headers.get('Retry-After')) || 0;
      throw e;
    }
    return data;
  }

  // A path on this site, or '' (never an open redirect).
  function safePath(p) {
    return typeof p === 'string' && p.startsWith('/') && !p.startsWith('//') &&
        !p.includes('\\') ? p : '';
  }

  // The signed-in user's session, or a redirect to the sign-in page. `role` sends a user of
  // the other role to their own page.
  async function requireSession(role) {
    try {
      session = await api('GET', '/api/v1/session');
    } catch (e) {
      if (e.status === 401) {
        location.replace('/signin?next=' + encodeURIComponent(location.pathname + location.search));
        return null;
      }
      throw e;
    }
    const user = session.user;
    if (!user) {
      location.replace('/signin');
      return null;
    }
    if (role && user.role !== role) {
      location.replace(user.role === 'admin' ? '/admin' : '/doctor');
      return null;
    }
    const who = document.getElementById('who');
    if (who) who.textContent = (user.name || user.email) + ' (' + user.role + ')';
    const out = document.getElementById('signout');
    if (out) {
      out.hidden = false;
      out.addEventListener('click', signOut);
    }
    return session;
  }

  async function signOut() {
    try {
      await api('DELETE', '/api/v1/session');
    } catch (e) {
      // The session may be gone already; the sign-in page is the right place either way.
    }
    location.assign('/signin?signed_out=1');
  }

  // el('p', {class: 'x', text: 'hello'}, child, ...): a new element.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, '');
      else node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // Shows `text` in a status element (an aria-live region): kind is 'ok', 'error' or 'info'.
  function say(target, text, kind) {
    const node = typeof target === 'string' ? document.getElementById(target) : target;
    if (!node) return;
    node.className = 'status ' + (kind || 'info');
    node.textContent = text || '';
  }

  // Runs `work` with `button` disabled and marked busy; errors go to `status`.
  async function busy(button, status, work) {
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      return await work();
    } catch (e) {
      if (status) say(status, e.message, 'error');
      else throw e;
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
    }
  }

  function zoneOk(zone) {
    try {
      new Intl.DateTimeFormat('en-GB', {timeZone: zone});
      return true;
    } catch (e) {
      return false;
    }
  }

  // "Tuesday 4 March 2030, 10:00" in `zone`.
  function formatTime(iso, zone) {
    const opts = {weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
                  hour: '2-digit', minute: '2-digit', hour12: false};
    if (zone && zoneOk(zone)) opts.timeZone = zone;
    return new Intl.DateTimeFormat('en-GB', opts).format(new Date(iso));
  }
  function formatClock(iso, zone) {
    const opts = {hour: '2-digit', minute: '2-digit', hour12: false};
    if (zone && zoneOk(zone)) opts.timeZone = zone;
    return new Intl.DateTimeFormat('en-GB', opts).format(new Date(iso));
  }
  function browserZone() {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  }

  // The meeting in plain words for staff: {text, kind} with kind 'ok', 'warn' or 'bad'.
  function meetingWords(meeting) {
    const m = meeting || {state: 'not_needed'};
    const words = stateWords(m);
    // The doctor changed the event in Google Calendar; telemeet leaves it until the
    // appointment changes here (see changed_in_google in the API).
    if (m.changed_in_google === 'moved') {
      return {text: words.text + ' · the event was moved in Google Calendar; the next change ' +
                    'of this appointment puts it back', kind: 'warn'};
    }
    if (m.changed_in_google === 'deleted') {
      return {text: words.text + ' · the event was deleted in Google Calendar; the next change ' +
                    'of this appointment puts it back', kind: 'bad'};
    }
    return words;
  }

  function stateWords(m) {
    switch (m.state) {
      case 'ready':
        return m.join_url ? {text: 'Google Meet link ready', kind: 'ok'}
                          : {text: 'Being prepared', kind: 'warn'};
      case 'creating':
      case 'conference_pending':
        return {text: 'Being prepared', kind: 'warn'};
      case 'updating':
        return {text: m.join_url ? 'Updating the calendar event (the link stays)'
                                 : 'Being prepared', kind: 'warn'};
      case 'awaiting_doctor':
        return {text: 'Waiting for the doctor\'s Google connection', kind: 'warn'};
      case 'needs_reconnect':
        return {text: 'Waiting for the doctor to reconnect Google', kind: 'bad'};
      case 'failed':
        return {text: 'Failed: ' + (m.last_error || 'Google refused the meeting'), kind: 'bad'};
      case 'cancelling':
        return {text: 'Being cancelled', kind: 'warn'};
      case 'cancelled':
        return {text: 'Cancelled', kind: ''};
      default:
        return {text: 'No video meeting (not confirmed yet, or not a telemedicine service)',
                kind: ''};
    }
  }

  // What Google Meet's own records say about a consultation (the API's attendance), in plain
  // words for staff: {text, kind}, or null when nothing was looked at. Counts and times only.
  function attendanceWords(att, zone) {
    if (!att) return null;
    const at = iso => (iso ? formatClock(iso, zone) : '?');
    const together = att.overlap_minutes + ' min together';
    switch (att.state) {
      case 'scope_missing':
        return {text: 'Attendance not available: the doctor has not allowed telemeet to read ' +
                      'Google Meet attendance (reconnect Google with attendance allowed)',
                kind: 'warn'};
      case 'unavailable':
        return {text: 'Attendance unknown' + (att.error ? ': ' + att.error : ''), kind: 'warn'};
      case 'waiting':
        if (att.running) return {text: 'Attendance: the Meet call is still going on', kind: 'warn'};
        return {text: 'Attendance: checking Google Meet\'s records' +
                      (att.next_check_at ? ' (next at ' + at(att.next_check_at) + ')' : ''),
                kind: 'warn'};
    }
    const span = att.first_join ? ' (' + at(att.first_join) + '–' + at(att.last_leave) + ')' : '';
    switch (att.outcome) {
      case 'attended':
        return {text: 'Attended: ' + together + span +
                      (att.action === 'completed' ? ' · marked completed' : ''), kind: 'ok'};
      case 'short':
        return {text: 'Joined, but only ' + together + span, kind: 'warn'};
      case 'no_show':
        return {text: 'No-show: the doctor waited, nobody else joined' + span, kind: 'bad'};
      case 'doctor_absent':
        return {text: 'The patient joined, the doctor did not' + span, kind: 'bad'};
      default:
        return {text: 'Nobody joined the Meet call', kind: ''};
    }
  }

  // Who may join the Meet call (the meeting's access_type), or null when left as Google made it.
  function accessWords(access) {
    if (!access) return null;
    const who = {open: 'anyone with the link', trusted: 'the organisation and invited guests',
                 restricted: 'invited people only'}[access.wanted] || access.wanted;
    switch (access.state) {
      case 'applied':
        return {text: 'Who may join: ' + who + ' (others knock)', kind: 'ok'};
      case 'retrying':
        return {text: 'Who may join: setting "' + who + '" (Google will be asked again)',
                kind: 'warn'};
      case 'scope_missing':
        return {text: 'Who may join could not be set: the doctor has not allowed telemeet to ' +
                      'change Meet settings. The link works as before', kind: 'warn'};
      default:
        return {text: 'Who may join could not be set' + (access.error ? ' (' + access.error +
                      ')' : '') + '. The link works as before', kind: 'warn'};
    }
  }

  // True while a meeting may still change by itself (worth polling).
  function meetingMoving(meeting) {
    const s = meeting ? meeting.state : 'not_needed';
    return ['creating', 'conference_pending', 'updating', 'cancelling'].includes(s) ||
        (s === 'ready' && !meeting.join_url);
  }

  // Copies the value of input `id` to the clipboard; reports in `status`.
  async function copyFrom(id, status) {
    const input = document.getElementById(id);
    try {
      await navigator.clipboard.writeText(input.value);
      say(status, 'Copied to the clipboard.', 'ok');
    } catch (e) {
      input.select();
      say(status, 'Select the text and copy it (Ctrl+C).', 'info');
    }
  }

  return {api, safePath, requireSession, signOut, el, say, busy, formatTime, formatClock,
          browserZone, meetingWords, meetingMoving, copyFrom, zoneOk, attendanceWords,
          accessWords,
          get session() { return session; }};
})();
