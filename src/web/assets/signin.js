// The sign-in page: email + password to POST /api/v1/session, then on to the right page.
'use strict';

(() => {
  const form = document.getElementById('signin-form');
  const email = document.getElementById('email');
  const password = document.getElementById('password');
  const button = document.getElementById('signin-button');
  const params = new URLSearchParams(location.search);
  if (params.get('signed_out')) tm.say('status', 'You are signed out.', 'ok');

  function fail(text, field) {
    tm.say('error', text, 'error');
    for (const input of [email, password]) input.removeAttribute('aria-invalid');
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }

  form.addEventListener('submit', async event => {
    event.preventDefault();
    tm.say('status', '', 'info');
    tm.say('error', '', 'error');
    if (!email.value.trim()) return fail('Enter your email address.', email);
    if (!password.value) return fail('Enter your password.', password);
    button.disabled = true;
    tm.say('status', 'Signing in…', 'info');
    try {
      const s = await tm.api('POST', '/api/v1/session',
                             {email: email.value.trim(), password: password.value});
      tm.say('status', 'Signed in. Opening your page…', 'ok');
      const home = s.user && s.user.role === 'admin' ? '/admin' : '/doctor';
      const next = tm.safePath(params.get('next') || '');
      location.assign(next && next.startsWith(home) ? next : home);
    } catch (e) {
      tm.say('status', '', 'info');
      if (e.status === 401) {
        fail('Wrong email or password. Check both and try again.', password);
      } else if (e.status === 429) {
        // "too many failed sign-ins for this account; try again in 5 seconds"
        fail('Please wait: ' + e.message + '. Sign-ins that keep failing are slowed down to ' +
             'protect the account.', null);
      } else {
        fail('Signing in did not work: ' + e.message, null);
      }
      password.value = '';
    } finally {
      button.disabled = false;
    }
  });
})();
