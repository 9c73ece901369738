// Where an outbound HTTP client may connect: a rule the app configures and HttpClient enforces
// on every address it is about to connect to, after name resolution. A name that resolves (or
// re-resolves, DNS rebinding) to an internal address is refused just like the literal address.
//
//   net::DestinationPolicy policy{.allow_http = false, .allowed_hosts = {"hooks.lan"}};
//   if (auto s = policy.CheckUrl(url); !s) ...     // early, when a URL is saved: 400 naming url
//   net::HttpClient client({.destinations = policy});  // every connection attempt checked
//
// Internal means loopback, unspecified ("this host"), RFC 1918 private, carrier-grade NAT
// (100.64/10), link-local (169.254/16, where cloud metadata lives; fe80::/10), multicast,
// reserved and broadcast IPv4, IPv6 unique-local (fc00::/7) and site-local, and IPv4 addresses
// embedded in IPv6 (v4-mapped, v4-compatible, NAT64 64:ff9b::/96) when the IPv4 one is.
// A policy is an immutable value, safe to read from any number of threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

struct sockaddr;

namespace telemeet::net {

struct DestinationPolicy {
  // False: only https URLs (a plain http request is refused before any connection).
  bool allow_http = false;
  // Hosts that may be internal: URL host names or IP literals, matched exactly and without
  // regard to case ("hooks.lan", "127.0.0.1", "::1" or "[::1]"). An IP literal also allows a
  // name that resolves to it.
  std::vector<std::string> allowed_hosts{};

  // True when `host` (a URL's host; IPv6 with or without brackets) is listed.
  bool Allows(std::string_view host) const;

  // The check for a URL being saved, without resolving names: kInvalidArgument naming "url"
  // when it is not an absolute http(s) URL, uses http where https is required, or names an
  // internal IP literal that is not allowed. A host name passes; its addresses are checked when
  // the client connects.
  Status CheckUrl(std::string_view url) const;

  // The check at connect time: kPermissionDenied naming "url" when `address` (IPv4 or IPv6;
  // any other family is refused) is internal and neither `host` nor the address is allowed.
  Status CheckAddress(std::string_view host, const sockaddr& address) const;
};

// True for the internal addresses above, and for any family other than IPv4 and IPv6.
bool IsInternalAddress(const sockaddr& address);

// True when `text` is an IPv4 or IPv6 literal (IPv6 with or without brackets) that is internal;
// false for a host name.
bool IsInternalIpLiteral(std::string_view text);

}  // namespace telemeet::net
