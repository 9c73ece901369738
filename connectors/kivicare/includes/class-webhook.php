<?php
/**
 * telemeet's webhooks to this site (M22): meeting.ready / meeting.updated fill KiviCare's meeting
 * record with the Meet link, meeting.failed and meeting.cancelled record the state,
 * doctor.needs_reconnect marks the doctor. Each delivery is checked before anything is read
 * from it: the HMAC signature (Signature::verify, 5-minute window) and, inside the window, its
 * event id, so a captured delivery replayed within the window changes nothing either.
 *
 * @package TelemeetKiviCare
 */

namespace TelemeetKiviCare;

if (!defined('ABSPATH')) {
    exit;
}

final class Webhook
{
    /** @return array{status:int, body:array} */
    public static function handle(Provider $provider, string $body, string $signature, string $event_id): array
    {
        $secret = (string) $provider->get_config()['webhook_secret'];
        if ($secret === '') {
            return ['status' => 503, 'body' => ['error' => 'the telemeet webhook secret is not set in KiviCare']];
        }
        if (!Signature::verify($signature, $secret, $body, time())) {
            return ['status' => 401, 'body' => ['error' => 'bad or expired Telemeet-Signature']];
        }
        $event = json_decode($body, true);
        if (!is_array($event) || !is_string($event['type'] ?? null)) {
            return ['status' => 400, 'body' => ['error' => 'the body is not a telemeet event']];
        }
        $id = $event_id !== '' ? $event_id : (string) ($event['id'] ?? '');
        $seen_key = 'telemeet_evt_' . md5($id);
        if ($id !== '' && get_transient($seen_key)) {
            return ['status' => 200, 'body' => ['ok' => true, 'duplicate' => true]];
        }
        $data = is_array($event['data'] ?? null) ? $event['data'] : [];
        $telemeet_appointment = (int) ($event['appointment_id'] ?? $data['appointment_id'] ?? 0);
        switch ($event['type']) {
            case 'meeting.ready':
            case 'meeting.updated':
            case 'meeting.failed':
            case 'meeting.cancelled':
                $appointment_id = self::kivicare_appointment($provider, $telemeet_appointment);
                $before = $appointment_id > 0 ? MeetingRecord::get($appointment_id) : null;
                if ($appointment_id > 0 && ($event['type'] !== 'meeting.cancelled' || $before !== null)) {
                    MeetingRecord::save($appointment_id, $telemeet_appointment, $data);
                    if (empty($before['url']) && !empty($data['join_url'])) {
                        self::send_link_emails($appointment_id, (string) $data['join_url'], (string) ($data['event_url'] ?? ''));
                    }
                }
                break;
            case 'doctor.needs_reconnect':
                $doctor = self::kivicare_doctor((int) ($event['doctor_id'] ?? $data['doctor_id'] ?? 0));
                if ($doctor > 0) {
                    $provider->remember_connection($doctor, 'needs_reconnect', '', (string) ($data['reason'] ?? $data['error'] ?? ''));
                }
                break;
            default:
                break;  // topics this site does not use are acknowledged, not retried
        }
        if ($id !== '') {
            set_transient($seen_key, 1, 2 * Signature::TOLERANCE);
        }
        return ['status' => 200, 'body' => ['ok' => true]];
    }

    /**
     * KiviCare sends its Meet link emails (templates meet_link, add_doctor_meet_link) when the
     * booking is saved, and only if the link exists then. A link that came later is sent here,
     * through KiviCare's own sender and templates, to the patient and the doctor.
     */
    private static function send_link_emails(int $appointment_id, string $url, string $event_url): void
    {
        if (!class_exists('App\\emails\\KCEmailSender')) {
            return;
        }
        $sender = \App\emails\KCEmailSender::get_instance();
        if ($sender === null) {
            return;
        }
        $data = ['appointment' => ['id' => $appointment_id], 'meet_link' => $url, 'meet_event_link' => $event_url];
        foreach (['patient', 'doctor'] as $recipient) {
            $sender->sendVideoConferenceLink('meet', $data, $url, $recipient);
        }
    }

    /** The KiviCare appointment of telemeet appointment `$telemeet_id` (0 when none). */
    private static function kivicare_appointment(Provider $provider, int $telemeet_id): int
    {
        if ($telemeet_id <= 0) {
            return 0;
        }
        $record = MeetingRecord::find_by_telemeet_id($telemeet_id);
        if ($record !== null) {
            return (int) $record['appointment_id'];
        }
        // Booked before the record was written (the booking's answer was lost): ask telemeet.
        $got = $provider->client()->call('GET', '/api/v1/appointments/' . $telemeet_id);
        $ref = is_wp_error($got) ? '' : (string) ($got['external_ref'] ?? '');
        if (!preg_match('/^kivicare:appointment:(\d+)$/', $ref, $m)) {
            return 0;
        }
        global $wpdb;
        $exists = $wpdb->get_var($wpdb->prepare("SELECT id FROM {$wpdb->prefix}kc_appointments WHERE id = %d", (int) $m[1]));
        return $exists ? (int) $m[1] : 0;
    }

    /** The KiviCare doctor (WordPress user) mapped to telemeet doctor `$telemeet_id`. */
    private static function kivicare_doctor(int $telemeet_id): int
    {
        if ($telemeet_id <= 0) {
            return 0;
        }
        $users = get_users(['meta_key' => Provider::META_TELEMEET_DOCTOR, 'meta_value' => (string) $telemeet_id, 'fields' => 'ID', 'number' => 1]);
        return empty($users) ? 0 : (int) $users[0];
    }
}
