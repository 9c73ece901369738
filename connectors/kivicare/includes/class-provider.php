<?php
/**
 * KiviCare's telemedicine provider "telemeet": KiviCare calls it to create, move and cancel an
 * appointment's video meeting; telemeet (a service of the clinic's own) makes the Google
 * Calendar event and its Meet link in the doctor's calendar, retries Google's failures, and
 * tells this site when the link is ready (webhook meeting.ready).
 *
 * KiviCare doctors, patients, services and appointments become telemeet's through external_ref
 * ("kivicare:doctor:12"), each created on first use with an Idempotency-Key, so a retried
 * booking never makes a second appointment. The provider holds no Google token: a doctor is
 * "connected" when telemeet says their Google connection is active (or needs a reconnect, when
 * bookings are kept and their links come after the reconnect).
 *
 * @package TelemeetKiviCare
 */

namespace TelemeetKiviCare;

use App\abstracts\KCAbstractTelemedProvider;

if (!defined('ABSPATH')) {
    exit;
}

class Provider extends KCAbstractTelemedProvider
{
    public const ID = 'telemeet';
    public const SETTINGS_KEY = 'kiviCare_telemeet_setting';
    /** User meta: telemeet's id of a KiviCare doctor or patient, and the doctor's connection. */
    public const META_TELEMEET_DOCTOR = 'telemeet_doctor_id';
    public const META_TELEMEET_PATIENT = 'telemeet_patient_id';
    public const META_CONNECTION = 'telemeet_connection';
    /** The user meta KiviCare 4.3.0 reads to list a doctor for telemedicine bookings. */
    public const META_KIVICARE_MEET_CONNECT = 'kiviCare_google_meet_connect';
    /** KiviCare's role for doctors (KCBase::getDoctorRole()). */
    public const DOCTOR_ROLE = 'kiviCare_doctor';

    private ?Client $client = null;

    protected function get_default_config()
    {
        return [
            'enabled' => true,
            'url' => '',
            'api_key' => '',
            'webhook_secret' => '',
            'timeout_seconds' => 10,
            // create_meeting waits this long for the link before answering with it pending.
            'link_wait_seconds' => 5,
        ];
    }

    public function get_provider_id()
    {
        return self::ID;
    }

    public function get_provider_name()
    {
        return 'telemeet (Google Meet)';
    }

    public function is_configured()
    {
        return $this->get_config_value('url', '') !== '' && $this->get_config_value('api_key', '') !== '';
    }

    public function client(): Client
    {
        if ($this->client === null) {
            $this->client = new Client(
                (string) $this->get_config_value('url', ''),
                (string) $this->get_config_value('api_key', ''),
                (int) $this->get_config_value('timeout_seconds', 10)
            );
        }
        return $this->client;
    }

    public function update_config($new_config)
    {
        $this->client = null;
        return parent::update_config($new_config);
    }

    // ── Mapping KiviCare records to telemeet's ─────────────────────────────────────────────

    /**
     * telemeet's id of the record with external_ref `$ref`, created from `$body` when missing.
     * The create carries an Idempotency-Key derived from the ref: a retry answers the first
     * result. A create refused because the ref is taken (a concurrent first use) is answered by
     * looking the ref up again.
     *
     * @return int|\WP_Error
     */
    private function ensure(string $collection, string $ref, array $body)
    {
        $found = $this->client()->call('GET', "/api/v1/{$collection}?limit=1&external_ref=" . rawurlencode($ref));
        if (is_wp_error($found)) {
            return $found;
        }
        if (!empty($found['data'][0]['id'])) {
            return (int) $found['data'][0]['id'];
        }
        $created = $this->client()->call('POST', "/api/v1/{$collection}", $body + ['external_ref' => $ref], $ref . ':create');
        if (is_wp_error($created)) {
            $status = (int) ($created->get_error_data()['status'] ?? 0);
            if ($status === 409 || $status === 422) {
                $again = $this->client()->call('GET', "/api/v1/{$collection}?limit=1&external_ref=" . rawurlencode($ref));
                if (!is_wp_error($again) && !empty($again['data'][0]['id'])) {
                    return (int) $again['data'][0]['id'];
                }
            }
            return $created;
        }
        return (int) $created['id'];
    }

    /** @return int|\WP_Error telemeet's doctor for KiviCare doctor (WordPress user) `$doctor_id`. */
    public function ensure_doctor(int $doctor_id)
    {
        $known = (int) get_user_meta($doctor_id, self::META_TELEMEET_DOCTOR, true);
        if ($known > 0) {
            return $known;
        }
        $user = get_userdata($doctor_id);
        // Only KiviCare's doctors become telemeet's: no other account (an admin's) is sent there.
        if (!$user || !in_array(self::DOCTOR_ROLE, (array) $user->roles, true)) {
            return new \WP_Error('telemeet_no_doctor', sprintf(__('User %d is not a KiviCare doctor.', 'telemeet-kivicare'), $doctor_id));
        }
        $id = $this->ensure('doctors', 'kivicare:doctor:' . $doctor_id, [
            'name' => $user->display_name ?: $user->user_login,
            'email' => $user->user_email,
            'time_zone' => self::zone(function_exists('kcGetDoctorTimezone') ? kcGetDoctorTimezone($doctor_id) : ''),
        ]);
        if (!is_wp_error($id)) {
            update_user_meta($doctor_id, self::META_TELEMEET_DOCTOR, $id);
        }
        return $id;
    }

    /** @return int|\WP_Error telemeet's patient for KiviCare patient (WordPress user) `$patient_id`. */
    public function ensure_patient(int $patient_id)
    {
        $known = (int) get_user_meta($patient_id, self::META_TELEMEET_PATIENT, true);
        if ($known > 0) {
            return $known;
        }
        $user = get_userdata($patient_id);
        if (!$user) {
            return new \WP_Error('telemeet_no_patient', sprintf(__('KiviCare patient %d does not exist.', 'telemeet-kivicare'), $patient_id));
        }
        $basic = json_decode((string) get_user_meta($patient_id, 'basic_data', true), true);
        $body = ['name' => $user->display_name ?: $user->user_login, 'email' => $user->user_email];
        if (is_array($basic) && !empty($basic['mobile_number'])) {
            $body['phone'] = (string) $basic['mobile_number'];
        }
        $id = $this->ensure('patients', 'kivicare:patient:' . $patient_id, $body);
        if (!is_wp_error($id)) {
            update_user_meta($patient_id, self::META_TELEMEET_PATIENT, $id);
        }
        return $id;
    }

    /** @return int|\WP_Error telemeet's service for the KiviCare service booked, or a generic one. */
    private function ensure_service(int $appointment_id, string $topic, int $minutes)
    {
        global $wpdb;
        $service_id = (int) $wpdb->get_var($wpdb->prepare(
            "SELECT service_id FROM {$wpdb->prefix}kc_appointment_service_mapping WHERE appointment_id = %d ORDER BY id LIMIT 1",
            $appointment_id
        ));
        $ref = $service_id > 0 ? 'kivicare:service:' . $service_id : 'kivicare:service:telemed';
        $name = $service_id > 0
            ? (string) $wpdb->get_var($wpdb->prepare("SELECT name FROM {$wpdb->prefix}kc_services WHERE id = %d", $service_id))
            : '';
        return $this->ensure('services', $ref, [
            'name' => $name !== '' ? $name : ($topic !== '' ? $topic : 'Telemedicine consultation'),
            'telemedicine' => true,
            'default_duration_minutes' => max(1, min(1440, $minutes)),
        ]);
    }

    // ── Meetings ─────────────────────────────────────────────────────────────────────────────

    /**
     * KiviCare calls this synchronously while booking and fails the booking on a falsy answer.
     * telemeet's appointment is created confirmed (one call, with an Idempotency-Key per KiviCare
     * appointment), then the link is awaited for at most link_wait_seconds; when it is still
     * pending the booking succeeds anyway and the meeting.ready webhook brings the link.
     *
     * @return array|\WP_Error
     */
    public function create_meeting($meeting_data = array())
    {
        $data = $this->format_meeting_data($meeting_data);
        $appointment_id = (int) $data['appointment_id'];
        if ($appointment_id <= 0) {
            return new \WP_Error('telemeet_no_appointment', __('telemeet: the meeting has no KiviCare appointment.', 'telemeet-kivicare'));
        }
        $doctor = $this->ensure_doctor((int) $data['doctor_id']);
        if (is_wp_error($doctor)) {
            return $this->failed('create_meeting', $doctor);
        }
        $patient = $this->ensure_patient((int) $data['patient_id']);
        if (is_wp_error($patient)) {
            return $this->failed('create_meeting', $patient);
        }
        $minutes = max(1, (int) $data['duration']);
        $service = $this->ensure_service($appointment_id, (string) $data['topic'], $minutes);
        if (is_wp_error($service)) {
            return $this->failed('create_meeting', $service);
        }
        [$start, $end, $zone] = $this->times_of($appointment_id, (string) $data['start_time'], $minutes, (string) $data['timezone']);
        $ref = 'kivicare:appointment:' . $appointment_id;
        $created = $this->client()->call('POST', '/api/v1/appointments', [
            'doctor_id' => $doctor,
            'patient_id' => $patient,
            'service_id' => $service,
            'start' => $start,
            'end' => $end,
            'time_zone' => $zone,
            'status' => 'confirmed',
            'notes' => (string) $data['topic'],
            'external_ref' => $ref,
        ], $ref . ':create');
        if (is_wp_error($created) && in_array((int) ($created->get_error_data()['status'] ?? 0), [409, 422], true)) {
            // Booked before (a retry whose first answer was lost, maybe with other details):
            // the same appointment, never a second one.
            $list = $this->client()->call('GET', '/api/v1/appointments?limit=1&external_ref=' . rawurlencode($ref));
            if (!is_wp_error($list) && !empty($list['data'][0]['id'])) {
                $created = $list['data'][0];
            }
        }
        if (is_wp_error($created)) {
            return $this->failed('create_meeting', $created);
        }
        $telemeet_id = (int) $created['id'];
        $meeting = is_array($created['meeting'] ?? null) ? $created['meeting'] : [];
        $deadline = microtime(true) + max(0, (float) $this->get_config_value('link_wait_seconds', 5));
        while (empty($meeting['join_url']) && !self::settled($meeting) && microtime(true) < $deadline) {
            usleep(250000);
            $got = $this->client()->call('GET', '/api/v1/appointments/' . $telemeet_id . '/meeting', null, null, 5);
            if (!is_wp_error($got)) {
                $meeting = $got;
            }
        }
        MeetingRecord::save($appointment_id, $telemeet_id, $meeting);
        self::watch_booking($this, $appointment_id, $telemeet_id);
        return [
            'id' => (string) $telemeet_id,
            'appointment_id' => $appointment_id,
            'join_url' => (string) ($meeting['join_url'] ?? ''),
            'start_url' => (string) ($meeting['join_url'] ?? ''),
            'event_url' => (string) ($meeting['event_url'] ?? ''),
            'status' => empty($meeting['join_url']) ? 'pending' : 'ready',
        ];
    }

    /**
     * A meeting whose state will not bring a link without someone acting. ("not_needed" is not
     * one: telemeet answers it for a new appointment its worker has not picked up yet.)
     */
    private static function settled(array $meeting): bool
    {
        return in_array($meeting['state'] ?? '', ['failed', 'needs_reconnect', 'awaiting_doctor', 'cancelled'], true);
    }

    /**
     * KiviCare calls create_meeting inside its booking's database transaction and may still
     * roll the booking back afterwards (a payment step failing, say). At the end of the request
     * a telemeet appointment whose KiviCare appointment did not survive is cancelled, so no
     * Google event is left without a booking.
     */
    private static function watch_booking(Provider $provider, int $appointment_id, int $telemeet_id): void
    {
        static $watched = [];
        if (empty($watched)) {
            add_action('shutdown', static function () use (&$watched) {
                global $wpdb;
                foreach ($watched as [$p, $kc, $tm]) {
                    $exists = $wpdb->get_var($wpdb->prepare("SELECT id FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $kc));
                    if (!$exists) {
                        $p->client()->call('POST', '/api/v1/appointments/' . $tm . '/cancel', ['reason' => 'the KiviCare booking was rolled back'], null, 5);
                        MeetingRecord::delete($kc);
                    }
                }
                $watched = [];
            }, 1);
        }
        $watched[] = [$provider, $appointment_id, $telemeet_id];
    }

    /**
     * Moves the meeting of telemeet appointment `$meeting_id` (or, given `appointment_id` in
     * `$meeting_data`, of that KiviCare appointment) to `start_time` for `duration` minutes. The
     * Meet link stays the same; telemeet patches the event.
     *
     * @return array|false
     */
    public function update_meeting($meeting_id, $meeting_data = array())
    {
        $appointment_id = (int) ($meeting_data['appointment_id'] ?? 0);
        $record = $appointment_id > 0 ? MeetingRecord::get($appointment_id) : MeetingRecord::find_by_telemeet_id((int) $meeting_id);
        if ($record === null) {
            return false;
        }
        $appointment_id = (int) $record['appointment_id'];
        $telemeet_id = (int) $record['extra']['telemeet_appointment_id'];
        $minutes = max(1, (int) ($meeting_data['duration'] ?? 30));
        [$start, $end, $zone] = $this->times_of($appointment_id, (string) ($meeting_data['start_time'] ?? ''), $minutes, (string) ($meeting_data['timezone'] ?? ''));
        $moved = $this->client()->call('POST', '/api/v1/appointments/' . $telemeet_id . '/reschedule', [
            'start' => $start,
            'end' => $end,
            'time_zone' => $zone,
        ]);
        if (is_wp_error($moved)) {
            $this->failed('update_meeting', $moved);
            return false;
        }
        MeetingRecord::save($appointment_id, $telemeet_id, is_array($moved['meeting'] ?? null) ? $moved['meeting'] : []);
        return ['id' => (string) $telemeet_id, 'join_url' => (string) ($record['url'] ?? '')];
    }

    /** Cancels telemeet appointment `$meeting_id`: telemeet deletes the Google event. */
    public function delete_meeting($meeting_id)
    {
        $record = MeetingRecord::find_by_telemeet_id((int) $meeting_id);
        return $record === null ? true : $this->cancel_meeting_by_appointment((int) $record['appointment_id']);
    }

    public function cancel_meeting_by_appointment($appointment_id)
    {
        $record = MeetingRecord::get((int) $appointment_id);
        if ($record === null) {
            return true;  // not ours, or cancelled already
        }
        $telemeet_id = (int) $record['extra']['telemeet_appointment_id'];
        $cancelled = $this->client()->call('POST', '/api/v1/appointments/' . $telemeet_id . '/cancel', ['reason' => 'cancelled in KiviCare']);
        if (is_wp_error($cancelled) && (int) ($cancelled->get_error_data()['status'] ?? 0) !== 409) {
            $this->failed('cancel_meeting', $cancelled);
            return false;
        }
        MeetingRecord::delete((int) $appointment_id);
        return true;
    }

    public function get_meeting($meeting_id)
    {
        $got = $this->client()->call('GET', '/api/v1/appointments/' . (int) $meeting_id . '/meeting');
        return is_wp_error($got) ? false : $got;
    }

    public function get_meeting_by_appointment($appointment_id)
    {
        $record = MeetingRecord::get((int) $appointment_id);
        return $record === null ? null : (object) $record;
    }

    protected function save_zoom_meeting_record($meeting_data)
    {
        return false;
    }

    protected function delete_meeting_record($meeting_id)
    {
        $record = MeetingRecord::find_by_telemeet_id((int) $meeting_id);
        if ($record !== null) {
            MeetingRecord::delete((int) $record['appointment_id']);
        }
        return true;
    }

    // ── Doctors' Google connection ───────────────────────────────────────────────────────────

    /**
     * Where to send doctor `$doctor_id` to connect Google: telemeet's consent flow, which comes
     * back to this site (telemeet must list this site's origin in
     * integrations.allowed_return_origins). Empty when telemeet cannot be reached; the reason
     * is in last_error().
     */
    public function get_authorization_url($doctor_id): string
    {
        $telemeet = $this->ensure_doctor((int) $doctor_id);
        if (is_wp_error($telemeet)) {
            $this->failed('connect', $telemeet);
            return '';
        }
        $started = $this->client()->call('POST', '/api/v1/doctors/' . $telemeet . '/google/connect', [
            'return_to' => Plugin::connected_url((int) $doctor_id),
        ]);
        if (is_wp_error($started)) {
            $this->failed('connect', $started);
            return '';
        }
        return (string) ($started['authorization_url'] ?? '');
    }

    /**
     * The doctor's connection as telemeet reports it, also kept in user meta (what KiviCare's
     * doctor views and booking read). Status: not_connected, active, needs_reconnect,
     * disconnected; "unknown" when telemeet cannot be reached.
     */
    public function refresh_connection(int $doctor_id): array
    {
        $telemeet = $this->ensure_doctor($doctor_id);
        $got = is_wp_error($telemeet) ? $telemeet : $this->client()->call('GET', '/api/v1/doctors/' . $telemeet . '/google');
        if (is_wp_error($got)) {
            $state = self::connection($doctor_id);
            $state['error'] = $got->get_error_message();
            return $state;
        }
        return $this->remember_connection($doctor_id, (string) ($got['status'] ?? 'not_connected'), (string) ($got['account_email'] ?? ''), (string) ($got['last_error'] ?? ''));
    }

    public function remember_connection(int $doctor_id, string $status, string $email = '', string $error = ''): array
    {
        $state = ['status' => $status, 'account_email' => $email, 'last_error' => $error, 'checked_at' => gmdate('c')];
        update_user_meta($doctor_id, self::META_CONNECTION, wp_json_encode($state));
        // KiviCare lists a doctor for telemedicine bookings by this flag.
        update_user_meta($doctor_id, self::META_KIVICARE_MEET_CONNECT, $status === 'active' ? 'on' : 'off');
        return $state;
    }

    /** What is known locally of the doctor's connection (no call). */
    public static function connection(int $doctor_id): array
    {
        $state = json_decode((string) get_user_meta($doctor_id, self::META_CONNECTION, true), true);
        return is_array($state) ? $state : ['status' => 'not_connected', 'account_email' => '', 'last_error' => ''];
    }

    /**
     * KiviCare picks a doctor's provider by a non-empty token: this provider has none, so it
     * answers a marker while the doctor's Google connection exists at telemeet (active, or
     * waiting for a reconnect: the booking is kept and its link follows the reconnect).
     */
    public function get_doctor_access_token($doctor_id)
    {
        $status = self::connection((int) $doctor_id)['status'] ?? '';
        return in_array($status, ['active', 'needs_reconnect'], true) ? 'telemeet:' . $status : null;
    }

    public function is_doctor_telemed_connected(): bool
    {
        return (self::connection(get_current_user_id())['status'] ?? '') === 'active';
    }

    public function update_doctor_config(int $doctor_id, array $config): bool
    {
        return true;  // nothing per doctor lives here: telemeet holds the Google grant
    }

    public function disconnect_doctor(int $doctor_id): bool
    {
        $telemeet = (int) get_user_meta($doctor_id, self::META_TELEMEET_DOCTOR, true);
        if ($telemeet <= 0) {
            return true;
        }
        $gone = $this->client()->call('DELETE', '/api/v1/doctors/' . $telemeet . '/google?meetings=keep');
        if (is_wp_error($gone)) {
            $this->failed('disconnect', $gone);
            return false;
        }
        $this->remember_connection($doctor_id, 'disconnected');
        return true;
    }

    /**
     * Without a doctor: telemeet's URL and API key work. With one: telemeet tests the doctor's
     * Google connection (a Calendar call), and the answer updates the connection KiviCare shows.
     */
    public function test_connection($data = [], $doctor_id = 0)
    {
        if ((int) $doctor_id <= 0) {
            $got = $this->client()->call('GET', '/api/v1/doctors?limit=1');
            return is_wp_error($got)
                ? ['success' => false, 'message' => $got->get_error_message()]
                : ['success' => true, 'message' => __('telemeet answered: the URL and the API key work.', 'telemeet-kivicare')];
        }
        $telemeet = $this->ensure_doctor((int) $doctor_id);
        if (is_wp_error($telemeet)) {
            return ['success' => false, 'message' => $telemeet->get_error_message()];
        }
        $tested = $this->client()->call('POST', '/api/v1/doctors/' . $telemeet . '/google/test', null, null, 30);
        $state = $this->refresh_connection((int) $doctor_id);
        $ok = !is_wp_error($tested) && !empty($tested['ok']) && $state['status'] === 'active';
        return [
            'success' => $ok,
            'status' => $state['status'],
            'message' => $ok
                ? __('The doctor\'s Google Calendar answers.', 'telemeet-kivicare')
                : ($state['status'] === 'needs_reconnect'
                    ? __('Google no longer accepts this doctor\'s connection: the doctor must reconnect Google.', 'telemeet-kivicare')
                    : (is_wp_error($tested) ? $tested->get_error_message() : (string) ($tested['message'] ?? $state['last_error'] ?? ''))),
        ];
    }

    // ── Webhook ──────────────────────────────────────────────────────────────────────────────

    /** KiviCare's webhook hook for this provider (admin-ajax.php?action=kc_telemeet_webhook). */
    public function handle_webhook()
    {
        $result = Webhook::handle($this, (string) file_get_contents('php://input'), (string) ($_SERVER['HTTP_TELEMEET_SIGNATURE'] ?? ''), (string) ($_SERVER['HTTP_TELEMEET_EVENT_ID'] ?? ''));
        status_header($result['status']);
        wp_send_json($result['body'], $result['status']);
    }

    // ── Helpers ──────────────────────────────────────────────────────────────────────────────

    private ?string $last_error = null;

    public function last_error(): ?string
    {
        return $this->last_error;
    }

    /** Keeps the reason for KiviCare's answer; logs the step and message (never a secret). */
    private function failed(string $step, \WP_Error $error)
    {
        $this->last_error = $error->get_error_message();
        if (defined('WP_DEBUG') && WP_DEBUG) {
            // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
            error_log('[telemeet] ' . $step . ': ' . $this->last_error);
        }
        if ($step === 'create_meeting' && self::called_by_booking()) {
            // KiviCare's booking treats any object as success (a WP_Error too) and reports only
            // an exception's message: throwing makes it roll the booking back and show why.
            throw new \RuntimeException($this->last_error);
        }
        return $error;
    }

    /**
     * True inside KiviCare's booking (AppointmentsController::createAppointment). Its other
     * callers (a payment's confirmation, "regenerate link") take a WP_Error; an exception there
     * would undo a confirmed payment.
     */
    private static function called_by_booking(): bool
    {
        foreach (debug_backtrace(DEBUG_BACKTRACE_IGNORE_ARGS, 8) as $frame) {
            if (($frame['function'] ?? '') === 'createAppointment' && str_ends_with((string) ($frame['class'] ?? ''), 'AppointmentsController')) {
                return true;
            }
        }
        return false;
    }

    /**
     * [start, end, zone] for telemeet: local wall times in an IANA zone. The zone is the KiviCare
     * appointment's when it is an IANA name; otherwise (an offset such as "+02:00") the times go
     * as UTC instants.
     */
    private function times_of(int $appointment_id, string $start_time, int $minutes, string $fallback_zone): array
    {
        global $wpdb;
        $row = $wpdb->get_row($wpdb->prepare(
            "SELECT appointment_start_date, appointment_start_time, appointment_timezone FROM {$wpdb->prefix}kc_appointments WHERE id = %d",
            $appointment_id
        ), ARRAY_A);
        $zone_name = (string) ($row['appointment_timezone'] ?? '');
        if ($zone_name === '' || !in_array($zone_name, timezone_identifiers_list(\DateTimeZone::ALL_WITH_BC), true)) {
            $zone_name = $fallback_zone !== '' ? $fallback_zone : wp_timezone_string();
        }
        if ($start_time === '' && $row) {
            $start_time = $row['appointment_start_date'] . ' ' . $row['appointment_start_time'];
        }
        try {
            $zone = new \DateTimeZone($zone_name);
        } catch (\Exception $e) {
            $zone = new \DateTimeZone('UTC');
        }
        $start = new \DateTimeImmutable($start_time, $zone);
        $end = $start->add(new \DateInterval('PT' . $minutes . 'M'));
        $iana = in_array($zone->getName(), timezone_identifiers_list(\DateTimeZone::ALL_WITH_BC), true);
        if ($iana) {
            return [$start->format('Y-m-d\TH:i:s'), $end->format('Y-m-d\TH:i:s'), $zone->getName()];
        }
        $utc = new \DateTimeZone('UTC');
        return [$start->setTimezone($utc)->format('Y-m-d\TH:i:s\Z'), $end->setTimezone($utc)->format('Y-m-d\TH:i:s\Z'), 'UTC'];
    }

    /** An IANA zone name for telemeet, or UTC. */
    private static function zone(string $name): string
    {
        return in_array($name, timezone_identifiers_list(\DateTimeZone::ALL_WITH_BC), true) ? $name : 'UTC';
    }
}
