#include "tools/mlectl/address.h"

#include "gtest/gtest.h"

namespace mled::mlectl {
namespace {

void ExpectSplit(absl::string_view address, absl::string_view host, absl::string_view port) {
  absl::StatusOr<HostPort> split = SplitHostPort(address);
  ASSERT_TRUE(split.ok()) << address << ": " << split.status();
  EXPECT_EQ(split->host, host);
  EXPECT_EQ(split->port, port);
}

TEST(SplitHostPortTest, Forms) {
  ExpectSplit("127.0.0.1:7070", "127.0.0.1", "7070");
  ExpectSplit("localhost:1", "localhost", "1");
  ExpectSplit("[::1]:7070", "::1", "7070");
  ExpectSplit(":7070", "127.0.0.1", "7070");
}

TEST(SplitHostPortTest, Errors) {
  for (absl::string_view bad :
       {"localhost", "host:", "host:0", "host:65536", "host:http", "::1:7070", "[::1:7070", ""}) {
    absl::StatusOr<HostPort> split = SplitHostPort(bad);
    EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace mled::mlectl
