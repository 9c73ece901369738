#include "net/destination_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace telemeet::net {
namespace {

sockaddr_storage Address(const std::string& ip) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr), 1) << ip;
    v6->sin6_family = AF_INET6;
  }
  return s;
}

bool Internal(const std::string& ip) {
  sockaddr_storage s = Address(ip);
  return IsInternalAddress(reinterpret_cast<const sockaddr&>(s));
}

TEST(DestinationPolicyTest, InternalAddressesAreRecognised) {
  for (const char* ip : {"127.0.0.1",
                         "127.255.0.9",
                         "0.0.0.0",
                         "10.0.0.1",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "169.254.169.254",
                         "100.64.0.1",
                         "224.0.0.1",
                         "239.255.255.250",
                         "255.255.255.255",
                         "240.0.0.1",
                         "192.0.0.170",
                         "::",
                         "::1",
                         "fe80::1",
                         "fc00::1",
                         "fd12:3456::1",
                         "ff02::1",
                         "fec0::1",
                         "::ffff:127.0.0.1",
                         "::ffff:169.254.169.254",
                         "::127.0.0.1",
                         "64:ff9b::10.0.0.1",
                         "2002:a00:1::1"}) {
    EXPECT_TRUE(Internal(ip)) << ip;
    EXPECT_TRUE(IsInternalIpLiteral(ip)) << ip;
  }
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1",
                         "169.255.0.1", "11.0.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8",
                         "64:ff9b::808:808", "2002:808:808::1"}) {
    EXPECT_FALSE(Internal(ip)) << ip;
    EXPECT_FALSE(IsInternalIpLiteral(ip)) << ip;
  }
  EXPECT_TRUE(IsInternalIpLiteral("[::1]"));
  EXPECT_FALSE(IsInternalIpLiteral("localhost"));  // a name: checked when it resolves
  EXPECT_FALSE(IsInternalIpLiteral("hooks.example"));
}

TEST(DestinationPolicyTest, CheckUrlRefusesSchemesAndInternalLiterals) {
  DestinationPolicy https_only;
  EXPECT_TRUE(https_only.CheckUrl("https://hooks.example/in"));
  for (const char* url :
       {"http://hooks.example/in", "ftp://hooks.example/", "not a url", "https://127.0.0.1/x",
        "https://169.254.169.254/latest/meta-data", "https://[::1]:8443/", "https://10.0.0.1/",
        "https://0.0.0.0/", "https://[::ffff:127.0.0.1]/", "https://2130706433/", "https://0x7f.1/",
        "https://127.1/"}) {
    auto s = https_only.CheckUrl(url);
    ASSERT_FALSE(s) << url;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_EQ(s.error().field(), "url") << url;
  }
  // A name passes here whatever it resolves to; the client checks its addresses.
  EXPECT_TRUE(https_only.CheckUrl("https://localhost:8443/"));

  DestinationPolicy lab{.allow_http = true, .allowed_hosts = {"127.0.0.1", "[::1]", "Hooks.LAN"}};
  EXPECT_TRUE(lab.CheckUrl("http://127.0.0.1:9000/hook"));
  EXPECT_TRUE(lab.CheckUrl("http://[::1]:9000/hook"));
  EXPECT_TRUE(lab.CheckUrl("http://[0:0::1]:9000/hook"));
  EXPECT_FALSE(lab.CheckUrl("http://127.0.0.2:9000/hook"));
  EXPECT_TRUE(lab.Allows("hooks.lan"));
  EXPECT_TRUE(lab.Allows("::1"));
  EXPECT_FALSE(lab.Allows("hooks.lan.evil.example"));
}

TEST(DestinationPolicyTest, CheckAddressAllowsListedHostsAndAddresses) {
  DestinationPolicy none;
  sockaddr_storage loopback = Address("127.0.0.1");
  sockaddr_storage metadata = Address("169.254.169.254");
  sockaddr_storage mapped = Address("::ffff:127.0.0.1");
  sockaddr_storage outside = Address("93.184.216.34");
  auto as = [](const sockaddr_storage& s) -> const sockaddr& {
    return reinterpret_cast<const sockaddr&>(s);
  };
  auto refused = none.CheckAddress("localhost", as(loopback));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(none.CheckAddress("rebound.example", as(metadata)));
  EXPECT_FALSE(none.CheckAddress("rebound.example", as(mapped)));
  EXPECT_TRUE(none.CheckAddress("hooks.example", as(outside)));

  DestinationPolicy by_name{.allowed_hosts = {"LocalHost"}};
  EXPECT_TRUE(by_name.CheckAddress("localhost", as(loopback)));
  EXPECT_FALSE(by_name.CheckAddress("127.0.0.1", as(loopback)));
  EXPECT_FALSE(by_name.CheckAddress("other.example", as(metadata)));

  DestinationPolicy by_ip{.allowed_hosts = {"127.0.0.1"}};
  EXPECT_TRUE(by_ip.CheckAddress("127.0.0.1", as(loopback)));
  EXPECT_TRUE(by_ip.CheckAddress("localhost", as(loopback)));  // resolves to a listed address
  EXPECT_TRUE(by_ip.CheckAddress("localhost", as(mapped)));
  EXPECT_FALSE(by_ip.CheckAddress("localhost", as(metadata)));
}

}  // namespace
}  // namespace telemeet::net
