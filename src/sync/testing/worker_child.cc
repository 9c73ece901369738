// A worker process for the sync layer's crash tests and the reconcile benchmark: the real
// wiring (HttpClient, OAuth client, TokenProvider over StoreGrantStore, Calendar client with
// retries and the rate limiter, Reconciler, Worker) against a store URL and a Google base URL.
//
//   sync_worker_child STORE_URL GOOGLE_BASE_URL CLIENT_ID THREADS LEASE_MS
//     environment: TELEMEET_TEST_KEY (hex, 32 bytes: the KeyRing key "k1"),
//                  TELEMEET_TEST_CLIENT_SECRET
//
// Prints "ready" once working; SIGTERM stops it gracefully (leased jobs released); SIGKILL is
// the crash the tests want.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/keyring.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "store/store.h"
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"
#include "sync/worker.h"

namespace {

std::atomic<bool> stop{false};
void OnTerm(int) { stop = true; }

}  // namespace

int main(int argc, char** argv) {
  using namespace telemeet;  // NOLINT(google-build-using-namespace): a small test program
  using std::chrono::milliseconds;
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s STORE_URL GOOGLE_BASE CLIENT_ID THREADS LEASE_MS\n", argv[0]);
    return 2;
  }
  const std::string store_url = argv[1];
  const std::string base = argv[2];
  const std::string client_id = argv[3];
  const int threads = std::atoi(argv[4]);
  const int lease_ms = std::atoi(argv[5]);
  const char* key_hex = std::getenv("TELEMEET_TEST_KEY");
  const char* secret = std::getenv("TELEMEET_TEST_CLIENT_SECRET");
  if (key_hex == nullptr || secret == nullptr) {
    std::fprintf(stderr, "TELEMEET_TEST_KEY and TELEMEET_TEST_CLIENT_SECRET are required\n");
    return 2;
  }
  signal(SIGTERM, OnTerm);

  SystemClock& clock = SystemClock::Instance();
  auto opened = store::OpenStore(store_url, clock);
  if (!opened) {
    std::fprintf(stderr, "open store: %s\n", opened.error().ToString().c_str());
    return 1;
  }
  std::unique_ptr<store::Store> store = std::move(*opened);
  crypto::KeyRing keys;
  auto key = crypto::HexDecode(key_hex);
  if (!key || !keys.Add("k1", *key)) {
    std::fprintf(stderr, "bad TELEMEET_TEST_KEY\n");
    return 2;
  }

  net::HttpClient http;
  google::HttpTransport transport(http);
  google::RetryOptions retry_options;
  retry_options.max_attempts = 3;
  retry_options.initial_backoff = milliseconds(20);
  retry_options.max_backoff = milliseconds(200);
  retry_options.deadline = milliseconds(5'000);
  google::RetryPolicy retry(retry_options, clock, google::RealSleeper::Instance(),
                            static_cast<uint64_t>(getpid()));
  google::RateLimiter limiter(google::RateLimitOptions{}, clock, google::RealSleeper::Instance());
  sync::CallCollector calls;
  google::OAuthConfig oauth_config;
  oauth_config.client_id = client_id;
  oauth_config.client_secret = secret;
  oauth_config.redirect_uri = "http://127.0.0.1:9/oauth/callback";
  oauth_config.auth_url = base + "/o/oauth2/v2/auth";
  oauth_config.token_url = base + "/token";
  oauth_config.revoke_url = base + "/revoke";
  google::OAuthClient oauth(oauth_config, {transport, clock, retry, &calls});
  sync::StoreGrantStore grants(*store);
  google::TokenProvider tokens(oauth, grants, keys, clock);
  google::CalendarOptions calendar_options;
  calendar_options.base_url = base;
  calendar_options.timeout = milliseconds(1'000);
  google::CalendarClient calendar(
      calendar_options,
      {transport, tokens, retry, clock, google::RealSleeper::Instance(), &limiter, &calls});
  sync::ReconcilerOptions options;
  options.poll_base = milliseconds(50);
  options.poll_max = milliseconds(500);
  options.retry_base = milliseconds(50);
  options.retry_max = milliseconds(1'000);
  options.lease_for = milliseconds(lease_ms);
  options.actor = "worker:child-" + std::to_string(getpid());
  sync::Reconciler reconciler(*store, calendar, calls, clock, options);
  sync::WorkerOptions worker_options;
  worker_options.threads = threads;
  worker_options.lease_for = milliseconds(lease_ms);
  worker_options.poll_interval = milliseconds(20);
  sync::Worker worker(*store, reconciler, clock, worker_options);
  if (std::string_view(store_url).starts_with("sqlite:")) {
    // As `telemeet serve` does once it holds the database's serve lock: the one worker process
    // takes back at once what a killed predecessor leased (app/serve_lock.h).
    if (auto n = store->Transact([](store::Tx& tx) { return tx.ReclaimLeases(); }); !n) return 1;
  }
  worker.Start();
  std::printf("ready\n");
  std::fflush(stdout);
  while (!stop) std::this_thread::sleep_for(milliseconds(20));
  worker.Stop();
  return 0;
}
