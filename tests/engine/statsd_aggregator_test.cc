// StatsdAggregator: gauge deltas, counter sums scaled by the sample rate, per-interval rates
// with zero rates for idle counters, and the bound on the names it holds.
#include "lib/engine/statsd_aggregator.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "gtest/gtest.h"

namespace mled::engine {
namespace {

// Flushes into an ordered map, for comparisons.
std::map<std::string, double> FlushAll(StatsdAggregator& aggregator, double seconds,
                                       bool idle_counters = true) {
  std::map<std::string, double> rates;
  aggregator.Flush(seconds, idle_counters, [&](absl::string_view stream, double rate) {
    EXPECT_TRUE(rates.emplace(std::string(stream), rate).second) << stream;
  });
  return rates;
}

double GaugeValue(StatsdAggregator& aggregator, absl::string_view stream, double value,
                  bool delta) {
  double out = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(aggregator.Gauge(stream, value, delta, &out), StatsdOutcome::kApplied);
  return out;
}

TEST(StatsdAggregatorTest, GaugeSetsAndSignedGaugeMovesFromTheLastValue) {
  StatsdAggregator aggregator(100, {});
  EXPECT_EQ(GaugeValue(aggregator, "g", 10, false), 10);
  EXPECT_EQ(GaugeValue(aggregator, "g", 3, true), 13);
  EXPECT_EQ(GaugeValue(aggregator, "g", -5, true), 8);
  EXPECT_EQ(GaugeValue(aggregator, "g", 2.5, false), 2.5);
  EXPECT_EQ(GaugeValue(aggregator, "g", -0.5, true), 2.0);
  // A gauge never seen moves from 0.
  EXPECT_EQ(GaugeValue(aggregator, "fresh", -4, true), -4);
  EXPECT_EQ(GaugeValue(aggregator, "fresh", 1, true), -3);
  EXPECT_EQ(aggregator.gauge_count(), 2u);
  EXPECT_EQ(aggregator.counter_count(), 0u);
  // Gauges are not counters: nothing to flush.
  EXPECT_TRUE(FlushAll(aggregator, 1).empty());
}

TEST(StatsdAggregatorTest, OverflowingDeltaIsReturnedButNotKept) {
  StatsdAggregator aggregator(100, {});
  EXPECT_EQ(GaugeValue(aggregator, "g", 1e308, false), 1e308);
  EXPECT_TRUE(std::isinf(GaugeValue(aggregator, "g", 1e308, true)));
  EXPECT_EQ(GaugeValue(aggregator, "g", -1e308, true), 0);
}

TEST(StatsdAggregatorTest, CounterRateIsTheSumOverTheIntervalScaledBySampleRate) {
  StatsdAggregator aggregator(100, {});
  ASSERT_EQ(aggregator.Count("hits", 1, 1), StatsdOutcome::kApplied);
  ASSERT_EQ(aggregator.Count("hits", 2, 0.5), StatsdOutcome::kApplied);   // 4
  ASSERT_EQ(aggregator.Count("hits", -3, 0.25), StatsdOutcome::kApplied);  // -12
  ASSERT_EQ(aggregator.Count("bytes", 1e21, 1), StatsdOutcome::kApplied);
  ASSERT_EQ(aggregator.Count("bytes", 1e-7, 0.1), StatsdOutcome::kApplied);
  const std::map<std::string, double> rates = FlushAll(aggregator, 10);
  ASSERT_EQ(rates.size(), 2u);
  EXPECT_DOUBLE_EQ(rates.at("hits"), (1.0 + 4.0 - 12.0) / 10);
  EXPECT_DOUBLE_EQ(rates.at("bytes"), (1e21 + 1e-7 / 0.1) / 10);
}

TEST(StatsdAggregatorTest, IdleCountersGetZeroRatesAndSumsRestartEachInterval) {
  StatsdAggregator aggregator(100, {});
  aggregator.Count("a", 5, 1);
  aggregator.Count("b", 7, 1);
  EXPECT_EQ(FlushAll(aggregator, 0.5), (std::map<std::string, double>{{"a", 10}, {"b", 14}}));
  aggregator.Count("a", 1, 1);
  EXPECT_EQ(FlushAll(aggregator, 0.5), (std::map<std::string, double>{{"a", 2}, {"b", 0}}));
  EXPECT_EQ(FlushAll(aggregator, 0.5), (std::map<std::string, double>{{"a", 0}, {"b", 0}}));
}

TEST(StatsdAggregatorTest, FinalFlushLeavesIdleCountersOut) {
  StatsdAggregator aggregator(100, {});
  aggregator.Count("a", 5, 1);
  aggregator.Count("b", 7, 1);
  FlushAll(aggregator, 1);
  aggregator.Count("b", 3, 1);
  EXPECT_EQ(FlushAll(aggregator, 2, /*idle_counters=*/false),
            (std::map<std::string, double>{{"b", 1.5}}));
  // A flush clears the increments: the next partial flush has nothing.
  EXPECT_TRUE(FlushAll(aggregator, 2, false).empty());
}

TEST(StatsdAggregatorTest, NamesAreBoundedAcrossGaugesAndCounters) {
  StatsdAggregator aggregator(3, {});
  double value = 0;
  EXPECT_EQ(aggregator.Gauge("g1", 1, false, &value), StatsdOutcome::kApplied);
  EXPECT_EQ(aggregator.Count("c1", 1, 1), StatsdOutcome::kApplied);
  EXPECT_EQ(aggregator.Gauge("g2", 1, true, &value), StatsdOutcome::kApplied);
  // Full: new names of either kind are refused and not stored ...
  EXPECT_EQ(aggregator.Gauge("g3", 1, false, &value), StatsdOutcome::kFull);
  EXPECT_EQ(aggregator.Count("c2", 1, 1), StatsdOutcome::kFull);
  EXPECT_EQ(aggregator.gauge_count(), 2u);
  EXPECT_EQ(aggregator.counter_count(), 1u);
  // ... while the names already held keep working.
  EXPECT_EQ(aggregator.Gauge("g2", 4, true, &value), StatsdOutcome::kApplied);
  EXPECT_EQ(value, 5);
  EXPECT_EQ(aggregator.Count("c1", 2, 1), StatsdOutcome::kApplied);
  EXPECT_EQ(FlushAll(aggregator, 1), (std::map<std::string, double>{{"c1", 3}}));
}

TEST(StatsdAggregatorTest, InvalidNamesAreRefusedAndTakeNoSlot) {
  wire::IngestLimits limits;
  limits.max_name_bytes = 8;
  StatsdAggregator aggregator(1, limits);
  double value = 0;
  EXPECT_EQ(aggregator.Gauge("much_too_long", 1, false, &value), StatsdOutcome::kInvalidName);
  EXPECT_EQ(aggregator.Count(absl::string_view("bad\x01", 4), 1, 1), StatsdOutcome::kInvalidName);
  EXPECT_EQ(aggregator.Count("", 1, 1), StatsdOutcome::kInvalidName);
  EXPECT_EQ(aggregator.Count("ok", 1, 1), StatsdOutcome::kApplied);
  EXPECT_EQ(aggregator.Count("ok2", 1, 1), StatsdOutcome::kFull);
  EXPECT_EQ(aggregator.gauge_count() + aggregator.counter_count(), 1u);
}

TEST(StatsdAggregatorTest, SameNameMayBeAGaugeAndACounter) {
  StatsdAggregator aggregator(10, {});
  EXPECT_EQ(GaugeValue(aggregator, "x", 4, false), 4);
  ASSERT_EQ(aggregator.Count("x", 6, 1), StatsdOutcome::kApplied);
  EXPECT_EQ(GaugeValue(aggregator, "x", 1, true), 5);
  EXPECT_EQ(FlushAll(aggregator, 2), (std::map<std::string, double>{{"x", 3}}));
}

}  // namespace
}  // namespace mled::engine
