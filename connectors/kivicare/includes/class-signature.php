<?php
/**
 * telemeet's webhook signature, checked exactly as telemeet makes it (src/api/webhooks.cc):
 *
 *   Telemeet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * During a secret rotation a second v1 follows (made with the previous secret); any matching v1
 * is enough. A signature older or newer than the tolerance is refused, so a captured delivery
 * cannot be replayed later. Plain PHP, no WordPress: the unit test runs it with `php` alone.
 *
 * @package TelemeetKiviCare
 */

namespace TelemeetKiviCare;

if (!defined('ABSPATH') && !defined('TELEMEET_KIVICARE_TEST')) {
    exit;
}

final class Signature
{
    /** Seconds a delivery's timestamp may differ from now (telemeet's receivers use 5 minutes). */
    public const TOLERANCE = 300;

    /**
     * True when `$header` carries a v1 HMAC of `$body` under `$secret`, timestamped within
     * `$tolerance` seconds of `$now`.
     */
    public static function verify(string $header, string $secret, string $body, int $now, int $tolerance = self::TOLERANCE): bool
    {
        if ($secret === '' || $header === '' || strlen($header) > 1024) {
            return false;
        }
        $t = null;
        $macs = [];
        foreach (explode(',', $header) as $part) {
            $part = trim($part);
            if (str_starts_with($part, 't=')) {
                $t = substr($part, 2);
            } elseif (str_starts_with($part, 'v1=')) {
                $macs[] = strtolower(substr($part, 3));
            }
        }
        if ($t === null || $t === '' || strlen($t) > 15 || !ctype_digit($t) || empty($macs)) {
            return false;
        }
        if (abs($now - (int) $t) > $tolerance) {
            return false;
        }
        $expected = hash_hmac('sha256', $t . '.' . $body, $secret);
        $ok = false;
        foreach ($macs as $mac) {
            // Every v1 is compared (constant time each): which one matched is not observable.
            $ok = hash_equals($expected, $mac) || $ok;
        }
        return $ok;
    }

    /** The header telemeet would send; for tests and the settings page's self-check. */
    public static function sign(string $secret, string $body, int $at): string
    {
        return 't=' . $at . ',v1=' . hash_hmac('sha256', $at . '.' . $body, $secret);
    }
}
