<?php
/**
 * telemeet's REST API (/api/v1) over WordPress's HTTP API: every call has a timeout, no
 * redirects are followed, and every failure is a WP_Error whose message a clinic admin can act
 * on ("telemeet did not answer within 10 s", "telemeet refused the API key"). The API key is
 * only ever sent in the Authorization header; it is never part of an error or a log line.
 *
 * @package TelemeetKiviCare
 */

namespace TelemeetKiviCare;

if (!defined('ABSPATH')) {
    exit;
}

final class Client
{
    private string $base;
    private string $api_key;
    private int $timeout;

    public function __construct(string $base_url, string $api_key, int $timeout_seconds = 10)
    {
        $this->base = rtrim($base_url, '/');
        $this->api_key = $api_key;
        $this->timeout = max(1, min(60, $timeout_seconds));
    }

    /**
     * One call. `$idempotency_key` makes a create safe to retry: telemeet answers a repeated key
     * with the first result and creates nothing. Returns the decoded JSON (an empty array for an
     * empty body) or a WP_Error with code telemeet_unreachable, telemeet_auth, telemeet_refused
     * (data: status, code, field) or telemeet_bad_answer.
     *
     * @return array|\WP_Error
     */
    public function call(string $method, string $path, ?array $body = null, ?string $idempotency_key = null, ?int $timeout = null)
    {
        if ($this->base === '' || $this->api_key === '') {
            return new \WP_Error('telemeet_not_configured', __('telemeet is not configured: enter its URL and an API key in the telemeet settings.', 'telemeet-kivicare'));
        }
        $headers = [
            'Authorization' => 'Bearer ' . $this->api_key,
            'Accept' => 'application/json',
        ];
        if ($body !== null) {
            $headers['Content-Type'] = 'application/json';
        }
        if ($idempotency_key !== null) {
            $headers['Idempotency-Key'] = $idempotency_key;
        }
        $seconds = $timeout ?? $this->timeout;
        $response = wp_remote_request($this->base . $path, [
            'method' => $method,
            'headers' => $headers,
            'body' => $body === null ? null : wp_json_encode($body),
            'timeout' => $seconds,
            'redirection' => 0,
            'user-agent' => 'telemeet-kivicare/' . TELEMEET_KIVICARE_VERSION,
        ]);
        if (is_wp_error($response)) {
            return new \WP_Error(
                'telemeet_unreachable',
                sprintf(
                    /* translators: 1: method and path, 2: telemeet URL, 3: seconds, 4: transport error */
                    __('telemeet did not answer %1$s at %2$s within %3$d s (%4$s). Check the telemeet URL and that telemeet is running.', 'telemeet-kivicare'),
                    $method . ' ' . strtok($path, '?'),
                    $this->base,
                    $seconds,
                    $response->get_error_message()
                )
            );
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        $raw = (string) wp_remote_retrieve_body($response);
        $json = $raw === '' ? [] : json_decode($raw, true);
        if (!is_array($json)) {
            return new \WP_Error('telemeet_bad_answer', sprintf(
                /* translators: 1: HTTP status, 2: method and path */
                __('telemeet answered %1$d to %2$s with something that is not JSON: is the URL telemeet\'s?', 'telemeet-kivicare'),
                $status,
                $method . ' ' . strtok($path, '?')
            ));
        }
        if ($status >= 200 && $status < 300) {
            return $json;
        }
        $err = is_array($json['error'] ?? null) ? $json['error'] : [];
        $message = (string) ($err['message'] ?? 'no message');
        $field = isset($err['field']) ? (string) $err['field'] : '';
        $data = ['status' => $status, 'code' => (string) ($err['code'] ?? ''), 'field' => $field];
        if ($status === 401) {
            return new \WP_Error('telemeet_auth', __('telemeet refused the API key (401): create a read/write API key in telemeet and enter it in the telemeet settings.', 'telemeet-kivicare'), $data);
        }
        return new \WP_Error('telemeet_refused', sprintf(
            /* translators: 1: method and path, 2: HTTP status, 3: telemeet's message, 4: field */
            __('telemeet refused %1$s (%2$d): %3$s%4$s', 'telemeet-kivicare'),
            $method . ' ' . strtok($path, '?'),
            $status,
            $message,
            $field === '' ? '' : ' [' . $field . ']'
        ), $data);
    }
}
