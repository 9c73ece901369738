<?php
// The webhook signature check, run with plain `php` (scripts/ci-kivicare.sh runs it): a valid
// delivery, a wrong secret, a tampered body, a replay outside the window, a rotation's second v1,
// and malformed headers. Signatures are made here with hash_hmac, as telemeet's src/api/webhooks.cc
// SignatureHeaderValue makes them, plus one fixed vector made by openssl.
define('TELEMEET_KIVICARE_TEST', true);
require __DIR__ . '/../includes/class-signature.php';

use TelemeetKiviCare\Signature;

$failures = 0;
function check(bool $cond, string $what): void
{
    global $failures;
    echo ($cond ? 'ok   ' : 'FAIL ') . $what . "\n";
    if (!$cond) {
        $failures++;
    }
}

$secret = 'whsec_test_secret_0123456789';
$body = '{"id":12,"type":"meeting.ready","appointment_id":3,"data":{"join_url":"https://meet.google.com/abc-defg-hij"}}';
$now = 1_800_000_000;
$mac = fn(string $s, int $t, string $b) => hash_hmac('sha256', $t . '.' . $b, $s);
$header = "t=$now,v1=" . $mac($secret, $now, $body);

check(Signature::verify($header, $secret, $body, $now), 'a valid delivery is accepted');
check(Signature::verify($header, $secret, $body, $now + 299), 'accepted 299 s later (inside the window)');
check(!Signature::verify($header, 'whsec_wrong', $body, $now), 'a wrong secret is refused');
check(!Signature::verify($header, '', $body, $now), 'an empty secret is refused');
check(!Signature::verify($header, $secret, $body . ' ', $now), 'a tampered body is refused');
check(!Signature::verify($header, $secret, $body, $now + 301), 'a replay 301 s later (outside the window) is refused');
check(!Signature::verify($header, $secret, $body, $now - 301), 'a timestamp 301 s in the future is refused');
$old = "t=" . ($now - 3600) . ",v1=" . $mac($secret, $now - 3600, $body);
check(!Signature::verify($old, $secret, $body, $now), 'a correctly signed delivery from an hour ago is refused');
$forged_t = "t=$now,v1=" . $mac($secret, $now - 3600, $body);
check(!Signature::verify($forged_t, $secret, $body, $now), 'a fresh t with an old signature is refused');
$rotated = "t=$now,v1=" . $mac('whsec_new', $now, $body) . ",v1=" . $mac($secret, $now, $body);
check(Signature::verify($rotated, $secret, $body, $now), 'during a rotation the previous secret still verifies (second v1)');
check(Signature::verify($rotated, 'whsec_new', $body, $now), 'during a rotation the new secret verifies (first v1)');
check(Signature::verify(strtoupper($header), $secret, $body, $now) === false, 'an upper-cased "T=" prefix is not a timestamp');
foreach (['', 't=,v1=00', "v1=" . $mac($secret, $now, $body), "t=$now", "t=-5,v1=00", "t=1e9,v1=00", "t=$now,v1="] as $bad) {
    check(!Signature::verify($bad, $secret, $body, $now), 'malformed header refused: ' . json_encode($bad));
}
check(Signature::sign($secret, $body, $now) === $header, 'sign() makes what telemeet makes');
// A vector made by another implementation (`printf '1700000000.{}' | openssl dgst -sha256
// -hmac whsec_fixed`), so the check is not only compared with itself.
$fixed = 't=1700000000,v1=695da770f2f0e5bc0d87ab87b39ba1a699d6e61f33d5146ef41fda10d69c42d3';
check(Signature::verify($fixed, 'whsec_fixed', '{}', 1700000000), 'the fixed vector verifies');

echo $failures === 0 ? "signature-test: all passed\n" : "signature-test: $failures failed\n";
exit($failures === 0 ? 0 : 1);
