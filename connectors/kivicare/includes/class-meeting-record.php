<?php
/**
 * KiviCare's meeting record for an appointment: the row KiviCare itself reads for the Meet link
 * (its emails' {{meet_link}} and {{meet_event_link}}, KCAppointment::getGoogleMeet(), the
 * doctor's "Start" and the patient's "Join"). KiviCare 4.3.0 reads it through the Google Meet
 * add-on's model, table {prefix}kc_appointment_google_meet_mappings (appointment_id, event_id,
 * url, password, event_url, created_at, extra); this class keeps those rows for appointments
 * telemeet serves, with telemeet's appointment id and meeting state in `extra`.
 *
 * A row exists from the booking on; `url` stays empty while telemeet's link is pending and is
 * filled by the meeting.ready webhook (or the bounded wait at booking).
 *
 * @package TelemeetKiviCare
 */

namespace TelemeetKiviCare;

if (!defined('ABSPATH')) {
    exit;
}

final class MeetingRecord
{
    public static function table(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'kc_appointment_google_meet_mappings';
    }

    /** Creates the table when neither KiviCare's Google Meet add-on nor an earlier run did. */
    public static function install(): void
    {
        global $wpdb;
        $table = self::table();
        $charset = $wpdb->get_charset_collate();
        // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name only
        $wpdb->query("CREATE TABLE IF NOT EXISTS {$table} (
            id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
            appointment_id bigint(20) unsigned NOT NULL,
            event_id varchar(255) NULL,
            url varchar(1024) NULL,
            password varchar(255) NULL,
            event_url varchar(2048) NULL,
            created_at datetime NULL,
            extra longtext NULL,
            PRIMARY KEY (id),
            KEY appointment_id (appointment_id)
        ) {$charset}");
    }

    /**
     * The record of KiviCare appointment `$appointment_id` made by this connector, or null. Rows
     * another provider made (the paid add-on's) are not ours and never returned.
     */
    public static function get(int $appointment_id): ?array
    {
        global $wpdb;
        $table = self::table();
        // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
        $row = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$table} WHERE appointment_id = %d ORDER BY id DESC LIMIT 1", $appointment_id), ARRAY_A);
        if (!$row) {
            return null;
        }
        $extra = json_decode((string) ($row['extra'] ?? ''), true);
        if (!is_array($extra) || ($extra['provider'] ?? '') !== 'telemeet') {
            return null;
        }
        $row['extra'] = $extra;
        return $row;
    }

    /** The record whose telemeet appointment is `$telemeet_id`, or null. */
    public static function find_by_telemeet_id(int $telemeet_id): ?array
    {
        global $wpdb;
        $table = self::table();
        $like = '%"telemeet_appointment_id":' . $telemeet_id . ',%';
        // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
        $id = $wpdb->get_var($wpdb->prepare("SELECT appointment_id FROM {$table} WHERE extra LIKE %s ORDER BY id DESC LIMIT 1", $like));
        return $id === null ? null : self::get((int) $id);
    }

    /**
     * Writes the record of `$appointment_id` from telemeet's appointment (its `meeting` object).
     * A known link is never replaced by an empty one: a late, out-of-order webhook cannot take
     * the link away from KiviCare.
     */
    public static function save(int $appointment_id, int $telemeet_id, array $meeting): void
    {
        global $wpdb;
        $existing = self::get($appointment_id);
        $url = (string) ($meeting['join_url'] ?? '');
        $event_url = (string) ($meeting['event_url'] ?? '');
        $fields = [
            'event_id' => (string) ($meeting['event_id'] ?? ($existing['event_id'] ?? '')),
            'url' => $url !== '' ? $url : ($existing['url'] ?? null),
            'event_url' => $event_url !== '' ? $event_url : ($existing['event_url'] ?? null),
            'extra' => wp_json_encode([
                'provider' => 'telemeet',
                'telemeet_appointment_id' => $telemeet_id,
                'state' => (string) ($meeting['state'] ?? ''),
                'updated_at' => gmdate('c'),
            ]),
        ];
        if ($existing) {
            $wpdb->update(self::table(), $fields, ['id' => (int) $existing['id']]);
        } else {
            $fields['appointment_id'] = $appointment_id;
            $fields['created_at'] = current_time('mysql');
            $wpdb->insert(self::table(), $fields);
        }
        self::flush_kivicare_cache();
    }

    public static function delete(int $appointment_id): void
    {
        global $wpdb;
        if (self::get($appointment_id) === null) {
            return;
        }
        $wpdb->delete(self::table(), ['appointment_id' => $appointment_id]);
        self::flush_kivicare_cache();
    }

    /** KiviCare's models cache query results; our writes bypass them. */
    private static function flush_kivicare_cache(): void
    {
        $model = '\\KCGMApp\\models\\KCGMAppointmentGoogleMeetMapping';
        if (class_exists($model, false) && method_exists($model, 'flushCache')) {
            $model::flushCache();
        }
    }
}
