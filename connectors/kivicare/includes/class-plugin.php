<?php
/**
 * Wiring into WordPress and KiviCare: the provider registration (kc_telemed_providers), the
 * appointment hooks (reschedule, cancel), the data KiviCare's REST answers carry (Meet link,
 * the doctor's connection), this connector's REST routes (settings, connect, connection), the
 * settings page and the doctor's profile section.
 *
 * @package TelemeetKiviCare
 */

namespace TelemeetKiviCare;

if (!defined('ABSPATH')) {
    exit;
}

final class Plugin
{
    private const REST_NS = 'telemeet-kivicare/v1';

    public static function activate(): void
    {
        MeetingRecord::install();
    }

    /** KiviCare stops offering telemedicine through this connector: its setting goes. */
    public static function deactivate(): void
    {
        $option = 'kiviCare_google_meet_setting';
        $current = get_option($option, []);
        if (is_array($current) && ($current['managed_by'] ?? '') === 'telemeet-kivicare') {
            delete_option($option);
        }
    }

    public static function boot(): void
    {
        if (!class_exists('App\\abstracts\\KCAbstractTelemedProvider')) {
            add_action('admin_notices', static function () {
                echo '<div class="notice notice-error"><p>' . esc_html__('telemeet for KiviCare needs the KiviCare plugin (4.3 or later) to be active.', 'telemeet-kivicare') . '</p></div>';
            });
            return;
        }
        require_once __DIR__ . '/class-provider.php';
        require_once __DIR__ . '/class-webhook.php';
        self::compat();

        add_filter('kc_telemed_providers', static function ($providers) {
            $providers[Provider::ID] = [
                'class' => Provider::class,
                'settings_key' => Provider::SETTINGS_KEY,
                'description' => __('Google Meet links made by telemeet, the clinic\'s own service', 'telemeet-kivicare'),
            ];
            return $providers;
        });

        add_action('kc_appointment_updated', [self::class, 'on_updated'], 10, 2);
        add_action('kc_appointment_cancelled', [self::class, 'on_cancelled'], 10, 1);

        add_filter('kc_is_video_consultation', static fn($yes, $id) => $yes || MeetingRecord::get((int) $id) !== null, 10, 2);
        add_filter('kc_appointment_list_item', static fn($data, $appointment) => self::with_meeting($data, (int) ($appointment->id ?? 0)), 10, 2);
        add_filter('kc_appointment_data', static fn($data, $id) => self::with_meeting($data, (int) $id), 10, 2);
        add_filter('kc_appointment_details_data', static fn($data, $appointment) => self::with_meeting($data, (int) ($appointment->id ?? 0)), 10, 2);
        add_filter('kc_doctor_list_item_data', static fn($data, $doctor) => self::with_connection($data, (int) ($doctor->id ?? 0)), 10, 2);
        add_filter('kc_doctor_data', static fn($data, $id) => self::with_connection($data, (int) $id), 10, 2);

        add_action('rest_api_init', [self::class, 'routes']);
        add_action('admin_post_telemeet_kivicare_connected', [self::class, 'connected']);
        add_action('admin_post_nopriv_telemeet_kivicare_connected', [self::class, 'connected']);
        add_action('admin_post_telemeet_kivicare_connect', [self::class, 'connect_redirect']);
        add_action('admin_post_telemeet_kivicare_settings', [self::class, 'save_settings_form']);
        add_action('admin_menu', [self::class, 'menu']);
        add_action('show_user_profile', [self::class, 'profile_section']);
        add_action('edit_user_profile', [self::class, 'profile_section']);
    }

    /**
     * KiviCare 4.3.0 books telemedicine services only while its Zoom or Google Meet add-on is
     * active (it checks their version constants) and reads Meet links through the Google Meet
     * add-on's model. Without that add-on, this connector stands in for it: the constant, and a
     * model of that name over the meeting records. With the add-on installed, nothing is declared.
     */
    private static function compat(): void
    {
        if (defined('KIVICARE_GOOGLE_MEET_ADDON_VERSION') || class_exists('KCGMApp\\models\\KCGMAppointmentGoogleMeetMapping')) {
            return;
        }
        require_once __DIR__ . '/compat-googlemeet-model.php';
        define('KIVICARE_GOOGLE_MEET_ADDON_VERSION', 'telemeet-' . TELEMEET_KIVICARE_VERSION);
        add_action('init', [self::class, 'enable_kivicare_listing'], 30);
    }

    /**
     * KiviCare's booking widget lists a doctor's telemedicine services when the Google Meet
     * add-on's settings say "enabled" and the doctor's kiviCare_google_meet_connect is "on"
     * (Provider::remember_connection keeps that flag). With the add-on absent and telemeet
     * configured, this connector writes that one setting, marked as its own.
     */
    public static function enable_kivicare_listing(): void
    {
        $option = KIVI_CARE_PREFIX . 'google_meet_setting';
        $current = get_option($option, []);
        $ours = is_array($current) && ($current['managed_by'] ?? '') === 'telemeet-kivicare';
        if (!empty($current) && !$ours) {
            return;  // the add-on's own settings, left alone
        }
        $enabled = self::provider() !== null && self::provider()->is_configured();
        if ($ours && ($current['enabled'] ?? '') === ($enabled ? 'true' : 'false')) {
            return;
        }
        update_option($option, ['enabled' => $enabled ? 'true' : 'false', 'managed_by' => 'telemeet-kivicare']);
    }

    public static function provider(): ?Provider
    {
        static $provider = null;
        if ($provider === null && class_exists(Provider::class)) {
            $provider = new Provider(Provider::SETTINGS_KEY);
        }
        return $provider;
    }

    /** Where telemeet sends the doctor's browser after the Google consent. */
    public static function connected_url(int $doctor_id): string
    {
        return admin_url('admin-post.php?action=telemeet_kivicare_connected&doctor_id=' . $doctor_id);
    }

    /** The URL to paste into telemeet's webhook endpoint: KiviCare's webhook hook for telemeet. */
    public static function webhook_url(): string
    {
        return admin_url('admin-ajax.php?action=kc_telemeet_webhook');
    }

    // ── Appointment hooks ────────────────────────────────────────────────────────────────────

    /** KiviCare moved an appointment: the meeting follows (same Meet link, new time). */
    public static function on_updated($appointment_id, $update = []): void
    {
        $appointment_id = (int) $appointment_id;
        $record = MeetingRecord::get($appointment_id);
        $provider = self::provider();
        if ($record === null || $provider === null || !$provider->is_configured()) {
            return;
        }
        if (isset($update['status']) && (int) $update['status'] === 0) {
            $provider->cancel_meeting_by_appointment($appointment_id);
            return;
        }
        if (empty($update['appointmentStartDate']) || empty($update['appointmentStartTime'])) {
            return;
        }
        $start = strtotime($update['appointmentStartDate'] . ' ' . $update['appointmentStartTime']);
        $end = strtotime(($update['appointmentEndDate'] ?? $update['appointmentStartDate']) . ' ' . ($update['appointmentEndTime'] ?? $update['appointmentStartTime']));
        $provider->update_meeting((string) $record['extra']['telemeet_appointment_id'], [
            'appointment_id' => $appointment_id,
            'start_time' => $update['appointmentStartDate'] . ' ' . $update['appointmentStartTime'],
            'duration' => max(1, (int) round(($end - $start) / 60)),
            'timezone' => (string) ($update['appointmentTimezone'] ?? ''),
        ]);
    }

    public static function on_cancelled($appointment_id): void
    {
        $provider = self::provider();
        if ($provider !== null && $provider->is_configured()) {
            $provider->cancel_meeting_by_appointment((int) $appointment_id);
        }
    }

    // ── What KiviCare's answers carry ────────────────────────────────────────────────────────

    private static function with_meeting($data, int $appointment_id)
    {
        if (!is_array($data) || $appointment_id <= 0) {
            return $data;
        }
        $record = MeetingRecord::get($appointment_id);
        if ($record === null) {
            return $data;
        }
        $url = (string) ($record['url'] ?? '');
        $data['video_consultation'] = true;
        $data['meet_link'] = $url;
        $data['meet_event_link'] = (string) ($record['event_url'] ?? '');
        $data['telemeet'] = [
            'appointment_id' => (int) $record['extra']['telemeet_appointment_id'],
            'state' => (string) ($record['extra']['state'] ?? ''),
            'join_url' => $url,
            'pending' => $url === '',
        ];
        return $data;
    }

    private static function with_connection($data, int $doctor_id)
    {
        if ($doctor_id <= 0) {
            return $data;
        }
        $state = Provider::connection($doctor_id);
        $view = [
            'status' => (string) ($state['status'] ?? 'not_connected'),
            'needs_reconnect' => ($state['status'] ?? '') === 'needs_reconnect',
            'account_email' => (string) ($state['account_email'] ?? ''),
        ];
        if (is_array($data)) {
            $data['telemeet_connection'] = $view;
        } elseif (is_object($data)) {
            $data->telemeet_connection = $view;
        }
        return $data;
    }

    // ── REST routes ──────────────────────────────────────────────────────────────────────────

    public static function routes(): void
    {
        $admin = static fn() => current_user_can('manage_options');
        // A doctor may act on their own connection; admins on anyone's.
        $self_or_admin = static fn(\WP_REST_Request $r) => current_user_can('manage_options') || (int) $r['id'] === get_current_user_id();
        register_rest_route(self::REST_NS, '/settings', [
            ['methods' => 'GET', 'permission_callback' => $admin, 'callback' => [self::class, 'rest_settings']],
            ['methods' => 'POST', 'permission_callback' => $admin, 'callback' => [self::class, 'rest_save_settings'], 'args' => [
                'url' => ['type' => 'string'],
                'api_key' => ['type' => 'string'],
                'webhook_secret' => ['type' => 'string'],
                'link_wait_seconds' => ['type' => 'integer', 'minimum' => 0, 'maximum' => 20],
            ]],
        ]);
        register_rest_route(self::REST_NS, '/settings/test', [
            'methods' => 'POST', 'permission_callback' => $admin,
            'callback' => static fn() => self::answer(self::provider()->test_connection()),
        ]);
        register_rest_route(self::REST_NS, '/doctors/(?P<id>\d+)/connect', [
            'methods' => 'POST', 'permission_callback' => $self_or_admin,
            'callback' => static function (\WP_REST_Request $r) {
                $url = self::provider()->get_authorization_url((int) $r['id']);
                return $url === ''
                    ? new \WP_REST_Response(['error' => self::provider()->last_error() ?? 'telemeet gave no consent address'], 502)
                    : new \WP_REST_Response(['authorization_url' => $url], 200);
            },
        ]);
        register_rest_route(self::REST_NS, '/doctors/(?P<id>\d+)/connection', [
            'methods' => 'GET', 'permission_callback' => $self_or_admin,
            'callback' => static fn(\WP_REST_Request $r) => new \WP_REST_Response(
                $r['refresh'] ? self::provider()->refresh_connection((int) $r['id']) : Provider::connection((int) $r['id'])
            ),
        ]);
        register_rest_route(self::REST_NS, '/doctors/(?P<id>\d+)/test', [
            'methods' => 'POST', 'permission_callback' => $self_or_admin,
            'callback' => static fn(\WP_REST_Request $r) => self::answer(self::provider()->test_connection([], (int) $r['id'])),
        ]);
    }

    private static function answer(array $result): \WP_REST_Response
    {
        return new \WP_REST_Response($result, !empty($result['success']) ? 200 : 502);
    }

    /** The settings without their secrets: whether each is set, never its value. */
    public static function rest_settings(): \WP_REST_Response
    {
        $c = self::provider()->get_config();
        return new \WP_REST_Response([
            'url' => (string) $c['url'],
            'api_key_set' => $c['api_key'] !== '',
            'webhook_secret_set' => $c['webhook_secret'] !== '',
            'webhook_url' => self::webhook_url(),
            'webhook_topics' => ['meeting.ready', 'meeting.updated', 'meeting.failed', 'meeting.cancelled', 'doctor.needs_reconnect'],
            'return_origin' => self::site_origin(),
            'link_wait_seconds' => (int) $c['link_wait_seconds'],
        ]);
    }

    public static function rest_save_settings(\WP_REST_Request $r): \WP_REST_Response
    {
        $error = self::save_settings($r->get_params());
        if ($error !== null) {
            return new \WP_REST_Response(['error' => $error['message'], 'field' => $error['field']], 400);
        }
        $response = self::rest_settings();
        $response->data['test'] = self::provider()->test_connection();
        return $response;
    }

    /** Saves what `$in` sets; an empty secret field keeps the saved secret. Null, or the error. */
    private static function save_settings(array $in): ?array
    {
        $provider = self::provider();
        $config = $provider->get_config();
        if (isset($in['url'])) {
            $url = rtrim(trim((string) $in['url']), '/');
            if ($url !== '' && !preg_match('~^https?://[^/\s?#@]+(/[^\s?#]*)?$~', $url)) {
                return ['field' => 'url', 'message' => __('The telemeet URL must look like https://telemeet.clinic.example (http or https, no query).', 'telemeet-kivicare')];
            }
            $config['url'] = $url;
        }
        foreach (['api_key', 'webhook_secret'] as $secret) {
            if (isset($in[$secret]) && trim((string) $in[$secret]) !== '') {
                $value = trim((string) $in[$secret]);
                if (strlen($value) > 512 || preg_match('/[\x00-\x20\x7f]/', $value)) {
                    return ['field' => $secret, 'message' => sprintf(__('The %s has characters a key cannot have.', 'telemeet-kivicare'), $secret)];
                }
                $config[$secret] = $value;
            }
        }
        if (isset($in['link_wait_seconds'])) {
            $config['link_wait_seconds'] = max(0, min(20, (int) $in['link_wait_seconds']));
        }
        $provider->update_config($config);
        return null;
    }

    private static function site_origin(): string
    {
        $parts = wp_parse_url(home_url());
        return ($parts['scheme'] ?? 'https') . '://' . ($parts['host'] ?? '') . (isset($parts['port']) ? ':' . $parts['port'] : '');
    }

    // ── The doctor's way to Google and back ──────────────────────────────────────────────────

    /** admin-post: sends the signed-in doctor (or an admin, for a doctor) to telemeet's consent. */
    public static function connect_redirect(): void
    {
        $doctor = isset($_GET['doctor_id']) ? (int) $_GET['doctor_id'] : get_current_user_id();
        check_admin_referer('telemeet_kivicare_connect_' . $doctor);
        if ($doctor !== get_current_user_id() && !current_user_can('manage_options')) {
            wp_die(esc_html__('You may connect only your own Google account.', 'telemeet-kivicare'), 403);
        }
        $url = self::provider()->get_authorization_url($doctor);
        if ($url === '') {
            wp_die(esc_html(self::provider()->last_error() ?? __('telemeet gave no consent address.', 'telemeet-kivicare')), 502);
        }
        // telemeet's consent page is on another host (telemeet's URL), which wp_safe_redirect refuses.
        wp_redirect($url);  // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect
        exit;
    }

    /**
     * admin-post: where telemeet sends the doctor back, signed in here or not. It only reads:
     * the connection of a doctor telemeet already knows is fetched from telemeet (whoever calls,
     * what is stored is telemeet's answer, and nothing is created), then the browser goes to the
     * doctor's profile, which shows it.
     */
    public static function connected(): void
    {
        $doctor = isset($_GET['doctor_id']) ? (int) $_GET['doctor_id'] : 0;
        if ($doctor > 0 && (int) get_user_meta($doctor, Provider::META_TELEMEET_DOCTOR, true) > 0) {
            self::provider()->refresh_connection($doctor);
        }
        wp_safe_redirect(is_user_logged_in() ? admin_url('profile.php?telemeet=connected#telemeet') : home_url('/'));
        exit;
    }

    // ── Pages ────────────────────────────────────────────────────────────────────────────────

    public static function menu(): void
    {
        add_options_page('telemeet', 'telemeet (KiviCare)', 'manage_options', 'telemeet-kivicare', [self::class, 'settings_page']);
    }

    public static function settings_page(): void
    {
        $c = self::provider()->get_config();
        $test = isset($_GET['tested']) ? self::provider()->test_connection() : null;
        echo '<div class="wrap"><h1>' . esc_html__('telemeet for KiviCare', 'telemeet-kivicare') . '</h1>';
        if ($test !== null) {
            printf('<div class="notice %s"><p>%s</p></div>', $test['success'] ? 'notice-success' : 'notice-error', esc_html($test['message']));
        }
        echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
        wp_nonce_field('telemeet_kivicare_settings');
        echo '<input type="hidden" name="action" value="telemeet_kivicare_settings"><table class="form-table">';
        printf('<tr><th><label for="tm-url">%s</label></th><td><input id="tm-url" name="url" class="regular-text" value="%s" placeholder="https://telemeet.clinic.example"></td></tr>', esc_html__('telemeet URL', 'telemeet-kivicare'), esc_attr($c['url']));
        printf('<tr><th><label for="tm-key">%s</label></th><td><input id="tm-key" name="api_key" type="password" class="regular-text" autocomplete="off" placeholder="%s"><p class="description">%s</p></td></tr>', esc_html__('API key', 'telemeet-kivicare'), esc_attr($c['api_key'] !== '' ? __('(saved; leave empty to keep)', 'telemeet-kivicare') : ''), esc_html__('A read/write API key from telemeet (Admin → API keys).', 'telemeet-kivicare'));
        printf('<tr><th>%s</th><td><code>%s</code><p class="description">%s</p></td></tr>', esc_html__('Webhook URL', 'telemeet-kivicare'), esc_html(self::webhook_url()), esc_html__('In telemeet (Admin → Webhooks), add an endpoint with this URL for meeting.ready, meeting.updated, meeting.failed, meeting.cancelled and doctor.needs_reconnect; paste the secret telemeet shows below.', 'telemeet-kivicare'));
        printf('<tr><th><label for="tm-secret">%s</label></th><td><input id="tm-secret" name="webhook_secret" type="password" class="regular-text" autocomplete="off" placeholder="%s"></td></tr>', esc_html__('Webhook secret', 'telemeet-kivicare'), esc_attr($c['webhook_secret'] !== '' ? __('(saved; leave empty to keep)', 'telemeet-kivicare') : 'whsec_…'));
        printf('<tr><th>%s</th><td><code>%s</code><p class="description">%s</p></td></tr>', esc_html__('Return origin', 'telemeet-kivicare'), esc_html(self::site_origin()), esc_html__('List it in telemeet\'s integrations.allowed_return_origins so doctors come back here after connecting Google.', 'telemeet-kivicare'));
        echo '</table>';
        submit_button(__('Save and test', 'telemeet-kivicare'));
        echo '</form></div>';
    }

    public static function save_settings_form(): void
    {
        if (!current_user_can('manage_options')) {
            wp_die('', 403);
        }
        check_admin_referer('telemeet_kivicare_settings');
        $error = self::save_settings(wp_unslash($_POST));
        if ($error !== null) {
            wp_die(esc_html($error['message']), 400);
        }
        wp_safe_redirect(admin_url('options-general.php?page=telemeet-kivicare&tested=1'));
        exit;
    }

    /** The doctor's Google connection on their profile, with Connect / Reconnect. */
    public static function profile_section(\WP_User $user): void
    {
        if (!in_array(Provider::DOCTOR_ROLE, (array) $user->roles, true) || self::provider() === null || !self::provider()->is_configured()) {
            return;
        }
        $state = Provider::connection($user->ID);
        $labels = [
            'active' => __('Connected', 'telemeet-kivicare'),
            'needs_reconnect' => __('Needs reconnect: Google no longer accepts the connection. Consultations are kept; their Meet links come after you reconnect.', 'telemeet-kivicare'),
            'not_connected' => __('Not connected', 'telemeet-kivicare'),
            'disconnected' => __('Disconnected', 'telemeet-kivicare'),
        ];
        $connect = wp_nonce_url(admin_url('admin-post.php?action=telemeet_kivicare_connect&doctor_id=' . $user->ID), 'telemeet_kivicare_connect_' . $user->ID);
        echo '<h2 id="telemeet">' . esc_html__('Google Meet (telemeet)', 'telemeet-kivicare') . '</h2><table class="form-table"><tr><th>' . esc_html__('Google Calendar', 'telemeet-kivicare') . '</th><td>';
        echo '<p>' . esc_html($labels[$state['status']] ?? $state['status']) . ($state['account_email'] ? ' (' . esc_html($state['account_email']) . ')' : '') . '</p>';
        echo '<p><a class="button" href="' . esc_url($connect) . '">' . esc_html($state['status'] === 'active' ? __('Reconnect Google', 'telemeet-kivicare') : __('Connect Google', 'telemeet-kivicare')) . '</a></p></td></tr></table>';
    }
}
