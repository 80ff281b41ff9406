#include "lib/engine/stream_table.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mled::engine {
namespace {

EngineLimits SmallLimits() {
  EngineLimits limits;
  limits.max_streams = 3;
  return limits;
}

TEST(StreamTableTest, RoundsShardCountUpToPowerOfTwo) {
  EXPECT_EQ(StreamTable(EngineLimits(), 0).shard_count(), 1u);
  EXPECT_EQ(StreamTable(EngineLimits(), 5).shard_count(), 8u);
  EXPECT_EQ(StreamTable(EngineLimits(), 16).shard_count(), 16u);
}

TEST(StreamTableTest, ShardOfIsStableAndInRange) {
  StreamTable table(EngineLimits(), 16);
  std::vector<int> hits(16);
  for (int i = 0; i < 1000; ++i) {
    const std::string name = absl::StrCat("stream/", i);
    const uint32_t shard = table.ShardOf(name);
    ASSERT_LT(shard, 16u);
    EXPECT_EQ(shard, table.ShardOf(name));
    ++hits[shard];
  }
  // 1000 names over 16 shards: every shard gets some.
  for (int count : hits) EXPECT_GT(count, 20);
}

TEST(StreamTableTest, FirstSampleFixesDimension) {
  StreamTable table(EngineLimits(), 4);
  const std::vector<double> three = {1, 2, 3};
  ASSERT_TRUE(table.Apply("v", 3, three, 10).ok());
  const absl::Status mismatch = table.Apply("v", 1, absl::MakeConstSpan(three).subspan(0, 1), 11);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(mismatch.message().find("dimension 3"), absl::string_view::npos);
  mled::v1::Estimate estimate;
  ASSERT_TRUE(table.GetEstimate("v", &estimate));
  EXPECT_EQ(estimate.count(), 1u);
  EXPECT_EQ(estimate.dim(), 3u);
  EXPECT_EQ(estimate.last_time_unix_nano(), 10);
}

TEST(StreamTableTest, MaxStreamsRejectsNewStreamsButNotExistingOnes) {
  StreamTable table(SmallLimits(), 2);
  const std::vector<double> x = {1.0};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(table.Apply(absl::StrCat("s", i), 1, x, 1).ok());
  const absl::Status full = table.Apply("s3", 1, x, 1);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("max_streams"), absl::string_view::npos);
  EXPECT_TRUE(table.Apply("s0", 1, x, 2).ok());
  EXPECT_EQ(table.stream_count(), 3u);
}

TEST(StreamTableTest, EstimateHasNllOnlyWhenNotDegenerate) {
  StreamTable table(EngineLimits(), 1);
  const std::vector<double> one = {5.0};
  ASSERT_TRUE(table.Apply("s", 1, one, 1).ok());
  mled::v1::Estimate estimate;
  ASSERT_TRUE(table.GetEstimate("s", &estimate));
  EXPECT_FALSE(estimate.has_nll());
  EXPECT_FALSE(estimate.has_mean_nll());
  const std::vector<double> more = {1.0, 2.0, 3.0};
  ASSERT_TRUE(table.Apply("s", 1, more, 5).ok());
  ASSERT_TRUE(table.GetEstimate("s", &estimate));
  ASSERT_TRUE(estimate.has_nll());
  EXPECT_EQ(estimate.count(), 4u);
  EXPECT_DOUBLE_EQ(estimate.mean(0), 2.75);
  // Values 5,1,2,3: sum of squared deviations 8.75, MLE variance 8.75/4.
  EXPECT_NEAR(estimate.covariance(0), 8.75 / 4, 1e-15);
  const double expected_nll = 2.0 * (std::log(2 * M_PI * 8.75 / 4) + 1);
  EXPECT_NEAR(estimate.nll(), expected_nll, 1e-12);
  EXPECT_NEAR(estimate.mean_nll(), expected_nll / 4, 1e-12);
  EXPECT_EQ(estimate.last_time_unix_nano(), 5);
}

TEST(StreamTableTest, TakeChangedListsEachChangedStreamOnce) {
  StreamTable table(EngineLimits(), 4);
  const std::vector<double> x = {1.0};
  table.Apply("a", 1, x, 1).IgnoreError();
  table.Apply("a", 1, x, 1).IgnoreError();
  table.Apply("b", 1, x, 1).IgnoreError();
  std::vector<std::string> changed;
  table.TakeChanged(&changed);
  std::sort(changed.begin(), changed.end());
  EXPECT_EQ(changed, (std::vector<std::string>{"a", "b"}));
  changed.clear();
  table.TakeChanged(&changed);
  EXPECT_TRUE(changed.empty());
  table.Apply("b", 1, x, 1).IgnoreError();
  table.TakeChanged(&changed);
  EXPECT_EQ(changed, std::vector<std::string>{"b"});
}

TEST(StreamTableTest, QueryMatchesSortsAndCaps) {
  EngineLimits limits;
  StreamTable table(limits, 8);
  const std::vector<double> x = {1.0};
  for (const char* name : {"b/2", "a/1", "b/1", "c"}) table.Apply(name, 1, x, 1).IgnoreError();
  google::protobuf::RepeatedPtrField<mled::v1::Estimate> out;
  const std::vector<std::string> globs = {"b/*"};
  table.Query(StreamMatcher(globs), 100, &out);
  ASSERT_EQ(out.size(), 2);
  EXPECT_EQ(out[0].stream(), "b/1");
  EXPECT_EQ(out[1].stream(), "b/2");
  out.Clear();
  table.Query(StreamMatcher(), 3, &out);
  ASSERT_EQ(out.size(), 3);
  EXPECT_EQ(out[0].stream(), "a/1");
  out.Clear();
  const std::vector<std::string> names = {"c", "missing"};
  table.Query(StreamMatcher(names), 100, &out);
  ASSERT_EQ(out.size(), 1);
  EXPECT_EQ(out[0].stream(), "c");
}

// Several threads apply to overlapping streams; every sample is counted exactly once.
TEST(StreamTableTest, ConcurrentAppliesAreExact) {
  StreamTable table(EngineLimits(), 8);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&table, t] {
      std::vector<std::string> drained;
      for (int i = 0; i < kPerThread; ++i) {
        const double x[] = {static_cast<double>(i % 7)};
        table.Apply(absl::StrCat("s", (i + t) % 10), 1, x, i).IgnoreError();
        if (t == 0 && i % 1000 == 0) table.TakeChanged(&drained);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  uint64_t total = 0;
  mled::v1::Estimate estimate;
  for (int s = 0; s < 10; ++s) {
    ASSERT_TRUE(table.GetEstimate(absl::StrCat("s", s), &estimate));
    total += estimate.count();
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads) * kPerThread);
}

}  // namespace
}  // namespace mled::engine
