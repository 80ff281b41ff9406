#include "lib/base/host_port.h"

#include "gtest/gtest.h"

namespace mled {
namespace {

void ExpectParse(absl::string_view address, absl::string_view host, uint16_t port) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  ASSERT_TRUE(parsed.ok()) << address << ": " << parsed.status();
  EXPECT_EQ(parsed->host, host);
  EXPECT_EQ(parsed->port, port);
}

TEST(ParseHostPortTest, Forms) {
  ExpectParse("127.0.0.1:7070", "127.0.0.1", 7070);
  ExpectParse("localhost:1", "localhost", 1);
  ExpectParse("[::1]:7070", "::1", 7070);
  ExpectParse(":7070", "127.0.0.1", 7070);  // no host means loopback
  ExpectParse("127.0.0.1:0", "127.0.0.1", 0);
}

TEST(ParseHostPortTest, Errors) {
  for (absl::string_view bad :
       {"localhost", "host:", "host:65536", "host:http", "::1:7070", "[::1:7070", ""}) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find("is not HOST:PORT"), std::string::npos);
  }
}

TEST(ParseHostPortTest, ToStringBracketsIpv6) {
  EXPECT_EQ((HostPort{"127.0.0.1", 7070}).ToString(), "127.0.0.1:7070");
  EXPECT_EQ((HostPort{"::1", 0}).ToString(), "[::1]:0");
}

}  // namespace
}  // namespace mled
