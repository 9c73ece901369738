// The patient's page (no account; the access token is in the URL): doctor, time in the
// appointment's zone, "Join Google Meet" once the link exists, the cancelled state, .ics.
'use strict';

(() => {
  const $ = id => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('token') || '';
  let timer = null;
  let lastState = '';

  function show(a) {
    $('appointment').hidden = false;
    $('appt-h').textContent = a.service_name + ' with ' + a.doctor_name;
    const zone = a.time_zone;
    $('when').textContent = tm.formatTime(a.start, zone) + ' – ' + tm.formatClock(a.end, zone);
    $('zone').textContent = 'Times are in ' + zone + '.';
    const mine = tm.browserZone();
    const here = tm.formatTime(a.start, mine);
    const there = tm.formatTime(a.start, zone);
    $('local').hidden = mine === zone || here === there;
    $('local').textContent = 'That is ' + here + ' in this device\'s time zone (' + mine + ').';
    $('ics').href = '/p/calendar.ics?token=' + encodeURIComponent(token);

    const join = $('join');
    const waiting = $('join-waiting');
    let state;
    let text;
    if (a.status === 'cancelled') {
      state = 'cancelled';
      text = 'This appointment was cancelled. Please contact your clinic to book a new one.';
    } else if (a.status === 'completed') {
      state = 'completed';
      text = 'This consultation has taken place.';
    } else if (a.join_url) {
      state = 'ready:' + a.join_url;
      text = 'Your video link is ready. Join a few minutes before the start time.';
    } else if (a.meeting_state === 'failed') {
      state = 'failed';
      text = 'The video link could not be created. Your clinic has been told and will contact you.';
    } else {
      state = 'preparing';
      text = 'Your video link is being prepared. This page updates by itself; you can also come ' +
             'back later.';
    }
    join.hidden = !state.startsWith('ready');
    if (a.join_url) join.href = a.join_url;
    waiting.hidden = state !== 'preparing';
    $('ics').parentElement.hidden = state === 'cancelled';
    // The live region speaks only when the state changes, not on every poll.
    if (state !== lastState) $('join-state').textContent = text;
    lastState = state;
    // Poll quickly until the link exists, then slowly (a reschedule or cancel may follow).
    if (state === 'preparing' || state === 'failed') return 4000;
    return state === 'cancelled' || state === 'completed' ? 0 : 30000;
  }

  async function load() {
    clearTimeout(timer);
    if (!token) {
      tm.say('status', 'This page needs the private link from your appointment email. ' +
             'Please open that link again.', 'error');
      return;
    }
    let again = 4000;
    try {
      const a = await tm.api('GET', '/api/v1/access', undefined, {'X-Access-Token': token});
      tm.say('status', '', 'info');
      again = show(a);
    } catch (e) {
      if (e.status === 404) {
        $('appointment').hidden = true;
        tm.say('status', 'This link does not work any more: it has expired or was replaced by a ' +
               'newer one. Please use the latest email from your clinic, or contact the clinic.',
               'error');
        return;
      }
      tm.say('status', 'Your appointment could not be loaded right now (' + e.message +
             '). Trying again…', 'error');
    }
    if (again) timer = setTimeout(load, again);
  }
  load();
})();
