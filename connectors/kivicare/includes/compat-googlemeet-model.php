<?php
/**
 * The model through which KiviCare 4.3.0 reads a Meet link (KCAppointment::getGoogleMeet(), the
 * notification listener's {{meet_link}}): KiviCare names the Google Meet add-on's class, so when
 * that add-on is not installed this connector declares a model of that name over the same table.
 * Written against KiviCare's own KCBaseModel; loaded only when no such class exists.
 *
 * @package TelemeetKiviCare
 */

namespace KCGMApp\models;

use App\baseClasses\KCBaseModel;

if (!defined('ABSPATH')) {
    exit;
}

class KCGMAppointmentGoogleMeetMapping extends KCBaseModel
{
    protected static function initSchema(): array
    {
        $text = ['type' => 'varchar', 'nullable' => true];
        return [
            'table_name' => 'kc_appointment_google_meet_mappings',
            'primary_key' => 'id',
            'columns' => [
                'id' => ['column' => 'id', 'type' => 'bigint', 'nullable' => false, 'auto_increment' => true],
                'appointmentId' => ['column' => 'appointment_id', 'type' => 'bigint', 'nullable' => false, 'sanitizers' => ['intval']],
                'eventId' => ['column' => 'event_id'] + $text,
                'url' => ['column' => 'url'] + $text,
                'password' => ['column' => 'password'] + $text,
                'eventUrl' => ['column' => 'event_url'] + $text,
                'createdAt' => ['column' => 'created_at', 'type' => 'datetime', 'nullable' => true],
                'extra' => ['column' => 'extra', 'type' => 'longtext', 'nullable' => true],
            ],
            'timestamps' => false,
            'soft_deletes' => false,
        ];
    }
}
