#include "net/destination_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "base/strings.h"

namespace telemeet::net {
namespace {

// An address in network byte order: 4 bytes for IPv4, 16 for IPv6.
struct Ip {
  int family = AF_UNSPEC;
  std::array<uint8_t, 16> bytes{};
};

bool InternalV4(const uint8_t* b) {
  uint32_t a = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8)      // 0.0.0.0/8: "this network"; 0.0.0.0 reaches this host
         || in(0x0A000000, 8)   // 10/8 private
         || in(0x64400000, 10)  // 100.64/10 carrier-grade NAT
         || in(0x7F000000, 8)   // 127/8 loopback
         || in(0xA9FE0000, 16)  // 169.254/16 link-local (cloud metadata at 169.254.169.254)
         || in(0xAC100000, 12)  // 172.16/12 private
         || in(0xC0000000, 24)  // 192.0.0/24 protocol assignments
         || in(0xC0A80000, 16)  // 192.168/16 private
         || in(0xE0000000, 4)   // 224/4 multicast
         || in(0xF0000000, 4);  // 240/4 reserved, 255.255.255.255 broadcast
}

bool InternalV6(const uint8_t* b) {
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;  // ::, ::1
  // IPv4 inside IPv6: v4-mapped ::ffff:a.b.c.d, v4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d
  // all reach the IPv4 address, and 6to4 2002:AABB:CCDD:: routes to it.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kZero, 12) == 0 ||
      std::memcmp(b, kNat64, 12) == 0) {
    return InternalV4(b + 12);
  }
  if (b[0] == 0x20 && b[1] == 0x02) return InternalV4(b + 2);
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local (deprecated)
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique local
  return b[0] == 0xff;                                     // ff00::/8 multicast
}

bool Internal(const Ip& ip) {
  if (ip.family == AF_INET) return InternalV4(ip.bytes.data());
  if (ip.family == AF_INET6) return InternalV6(ip.bytes.data());
  return true;
}

// "[::1]" -> "::1", "fe80::1%eth0" -> "fe80::1", lower case.
std::string BareHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (size_t zone = host.find('%'); zone != std::string_view::npos) host = host.substr(0, zone);
  return ToLower(host);
}

// Only the strict dotted-quad and IPv6 forms: anything else (a name, "127.1") is not a literal
// here; curl's URL parser has already rewritten the odd IPv4 forms of a URL's host to dots.
std::optional<Ip> ParseIp(std::string_view text) {
  std::string bare = BareHost(text);
  Ip ip;
  if (inet_pton(AF_INET, bare.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, bare.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

std::optional<Ip> FromSockaddr(const sockaddr& address) {
  Ip ip;
  ip.family = address.sa_family;
  if (address.sa_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    std::memcpy(ip.bytes.data(), &in4.sin_addr, 4);
    return ip;
  }
  if (address.sa_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    std::memcpy(ip.bytes.data(), &in6.sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

// The canonical text of an address ("127.0.0.1", "::1"); a v4-mapped IPv6 address also as IPv4.
std::vector<std::string> Texts(const Ip& ip) {
  std::vector<std::string> out;
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(ip.family, ip.bytes.data(), buf, sizeof buf) != nullptr) out.emplace_back(buf);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.family == AF_INET6 && std::memcmp(ip.bytes.data(), kMapped, 12) == 0 &&
      inet_ntop(AF_INET, ip.bytes.data() + 12, buf, sizeof buf) != nullptr) {
    out.emplace_back(buf);
  }
  return out;
}

// An entry or host in the form it is compared in: IP literals canonical, names lower case.
std::string Canonical(std::string_view host) {
  if (auto ip = ParseIp(host)) return Texts(*ip).front();
  return BareHost(host);
}

}  // namespace

bool DestinationPolicy::Allows(std::string_view host) const {
  std::string want = Canonical(host);
  if (want.empty()) return false;
  return std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                     [&](const std::string& entry) { return Canonical(entry) == want; });
}

Status DestinationPolicy::CheckUrl(std::string_view url) const {
  CURLU* parsed = curl_url();
  char* scheme = nullptr;
  char* host = nullptr;
  std::string url_text(url);
  if (curl_url_set(parsed, CURLUPART_URL, url_text.c_str(), 0) == CURLUE_OK) {
    curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(parsed, CURLUPART_HOST, &host, 0);
  }
  std::string s = scheme != nullptr ? scheme : "";
  std::string h = host != nullptr ? host : "";
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(parsed);
  if ((s != "http" && s != "https") || h.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "url must be an absolute http(s) URL", "url");
  }
  if (s == "http" && !allow_http) {
    return Fail(ErrorCode::kInvalidArgument, "url must use https", "url");
  }
  if (IsInternalIpLiteral(h) && !Allows(h)) {
    return Fail(ErrorCode::kInvalidArgument,
                "url points at an internal address (" + BareHost(h) +
                    ": loopback, private, link-local or multicast) that is not allowed",
                "url");
  }
  return Ok();
}

Status DestinationPolicy::CheckAddress(std::string_view host, const sockaddr& address) const {
  std::optional<Ip> ip = FromSockaddr(address);
  if (ip && !Internal(*ip)) return Ok();
  if (Allows(host)) return Ok();
  std::string shown = "an address of another family";
  if (ip) {
    std::vector<std::string> texts = Texts(*ip);
    for (const std::string& text : texts) {
      if (Allows(text)) return Ok();
    }
    if (!texts.empty()) shown = texts.front();
  }
  return Fail(ErrorCode::kPermissionDenied,
              std::string(BareHost(host)) + " is at the internal address " + shown +
                  ", which this client may not connect to",
              "url");
}

bool IsInternalAddress(const sockaddr& address) {
  std::optional<Ip> ip = FromSockaddr(address);
  return !ip || Internal(*ip);
}

bool IsInternalIpLiteral(std::string_view text) {
  std::optional<Ip> ip = ParseIp(text);
  return ip && Internal(*ip);
}

}  // namespace telemeet::net
