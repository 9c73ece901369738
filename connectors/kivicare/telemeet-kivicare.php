<?php
/**
 * Plugin Name: telemeet for KiviCare
 * Description: Google Meet consultations for KiviCare through telemeet, the clinic's own meeting service: a KiviCare telemedicine provider ("telemeet") replacing the Google Meet add-on.
 * Version: 0.1.0
 * Requires PHP: 8.2
 * Requires Plugins: kivicare-clinic-management-system
 * License: GPLv2 or later
 * Text Domain: telemeet-kivicare
 *
 * @package TelemeetKiviCare
 */

if (!defined('ABSPATH')) {
    exit;
}

define('TELEMEET_KIVICARE_VERSION', '0.1.0');

require_once __DIR__ . '/includes/class-signature.php';
require_once __DIR__ . '/includes/class-client.php';
require_once __DIR__ . '/includes/class-meeting-record.php';
require_once __DIR__ . '/includes/class-plugin.php';

register_activation_hook(__FILE__, [\TelemeetKiviCare\Plugin::class, 'activate']);
register_deactivation_hook(__FILE__, [\TelemeetKiviCare\Plugin::class, 'deactivate']);
add_action('plugins_loaded', [\TelemeetKiviCare\Plugin::class, 'boot'], 20);
