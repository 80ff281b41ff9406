#include "lib/stats/accumulator.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/stats/exponential_gaussian.h"
#include "lib/stats/multivariate_gaussian.h"
#include "lib/stats/univariate_gaussian.h"
#include "lib/stats/window_gaussian.h"
#include "tests/stats/reference.h"

namespace mled::stats {
namespace {

std::unique_ptr<Accumulator> Filled(int dim, uint64_t seed, size_t n, double offset) {
  std::unique_ptr<Accumulator> acc = NewGaussianAccumulator(dim);
  const std::vector<double> rows = reference::CorrelatedRows(seed, n, dim, offset);
  const size_t d = static_cast<size_t>(dim);
  // Single rows and blocks, so the state has been through Welford and Chan.
  acc->AddRows(absl::MakeConstSpan(rows).subspan(0, d), RowTimes{});
  acc->AddRows(absl::MakeConstSpan(rows).subspan(d, (n / 2) * d), RowTimes{});
  for (size_t r = n / 2 + 1; r < n; ++r) {
    acc->AddRows(absl::MakeConstSpan(rows).subspan(r * d, d), RowTimes{});
  }
  return acc;
}

bool BitwiseEqual(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(AccumulatorTest, NewGaussianAccumulatorPicksTheFamily) {
  EXPECT_NE(dynamic_cast<UnivariateGaussian*>(NewGaussianAccumulator(1).get()), nullptr);
  const std::unique_ptr<Accumulator> mv = NewGaussianAccumulator(3);
  EXPECT_NE(dynamic_cast<MultivariateGaussian*>(mv.get()), nullptr);
  EXPECT_EQ(mv->dim(), 3);
  EXPECT_EQ(mv->count(), 0u);
}

TEST(AccumulatorTest, EmptySummaryIsZerosWithoutNll) {
  for (int dim : {1, 3}) {
    Summary s;
    s.mean = {7, 7, 7, 7};  // stale content is replaced
    NewGaussianAccumulator(dim)->Summarize(&s);
    EXPECT_EQ(s.count, 0u);
    EXPECT_EQ(s.dim, dim);
    EXPECT_EQ(s.mean, std::vector<double>(dim, 0.0));
    EXPECT_EQ(s.covariance, std::vector<double>(dim * dim, 0.0));
    EXPECT_FALSE(s.nll.has_value());
    EXPECT_EQ(NewGaussianAccumulator(dim)->Fit().status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
}

TEST(AccumulatorTest, SummaryMatchesTheConcreteAccessors) {
  const std::unique_ptr<Accumulator> acc = Filled(3, 1, 500, 10.0);
  Summary s;
  acc->Summarize(&s);
  const auto& mv = dynamic_cast<const MultivariateGaussian&>(*acc);
  EXPECT_EQ(s.count, 500u);
  ASSERT_EQ(s.covariance.size(), 9u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.mean[i], mv.Mean()(i));
    for (int j = 0; j < 3; ++j) EXPECT_EQ(s.covariance[i * 3 + j], mv.Covariance()(i, j));
  }
  ASSERT_TRUE(s.nll.has_value());
  EXPECT_EQ(*s.nll, *mv.Nll());
  ASSERT_TRUE(acc->Fit().ok());
  EXPECT_EQ(NllAtMle(500, 3, acc->Fit()->log_det()), *s.nll);
}

TEST(AccumulatorTest, CloneIsIndependent) {
  for (int dim : {1, 4}) {
    const std::unique_ptr<Accumulator> acc = Filled(dim, 2, 100, 0.0);
    const std::unique_ptr<Accumulator> clone = acc->Clone();
    clone->AddRows(std::vector<double>(dim, 1e3), RowTimes{});
    EXPECT_EQ(acc->count(), 100u);
    EXPECT_EQ(clone->count(), 101u);
  }
}

TEST(AccumulatorTest, MergeThroughTheInterface) {
  for (int dim : {1, 3}) {
    const std::unique_ptr<Accumulator> a = Filled(dim, 3, 300, 1e9);
    const std::unique_ptr<Accumulator> b = Filled(dim, 4, 200, 1e9 + 5);
    ASSERT_TRUE(a->Merge(*b).ok());
    EXPECT_EQ(a->count(), 500u);
  }
  const std::unique_ptr<Accumulator> uni = NewGaussianAccumulator(1);
  const std::unique_ptr<Accumulator> two = NewGaussianAccumulator(2);
  const std::unique_ptr<Accumulator> three = NewGaussianAccumulator(3);
  const MultivariateGaussian one_dim_multivariate(1);
  EXPECT_EQ(uni->Merge(*two).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(two->Merge(*uni).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(two->Merge(*three).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(uni->Merge(one_dim_multivariate).code(), absl::StatusCode::kInvalidArgument);
}

// ToState -> bytes -> AccumulatorFromState -> ToState reproduces the record byte for byte, the
// summaries bit for bit, and the restored accumulator goes on exactly like the original.
TEST(AccumulatorTest, StateRoundTrip) {
  for (int dim : {1, 2, 5}) {
    SCOPED_TRACE(dim);
    for (size_t n : {size_t{0}, size_t{1}, size_t{777}}) {
      std::unique_ptr<Accumulator> original = NewGaussianAccumulator(dim);
      if (n > 0) original = Filled(dim, 5, n, 1e9);
      mled::v1::StreamState state;
      state.set_stream("cpu/0");  // the engine's fields are left alone
      original->ToState(&state);
      EXPECT_EQ(state.version(), 1u);
      EXPECT_EQ(state.stream(), "cpu/0");
      mled::v1::StreamState parsed;
      ASSERT_TRUE(parsed.ParseFromString(state.SerializeAsString()));
      absl::StatusOr<std::unique_ptr<Accumulator>> restored = AccumulatorFromState(parsed);
      ASSERT_TRUE(restored.ok()) << restored.status();
      mled::v1::StreamState again;
      again.set_stream("cpu/0");
      (*restored)->ToState(&again);
      EXPECT_EQ(again.SerializeAsString(), state.SerializeAsString());

      const std::vector<double> more = reference::CorrelatedRows(6, 50, dim, 1e9 + 1);
      original->AddRows(more, RowTimes{});
      (*restored)->AddRows(more, RowTimes{});
      Summary a;
      Summary b;
      original->Summarize(&a);
      (*restored)->Summarize(&b);
      EXPECT_EQ(a.count, b.count);
      EXPECT_TRUE(BitwiseEqual(a.mean, b.mean));
      EXPECT_TRUE(BitwiseEqual(a.covariance, b.covariance));
      EXPECT_EQ(a.nll, b.nll);
    }
  }
}

mled::v1::StreamState ValidState(int dim) {
  mled::v1::StreamState state;
  Filled(dim, 7, 50, 3.0)->ToState(&state);
  return state;
}

TEST(AccumulatorTest, FromStateRejectsBadRecords) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  using Edit = std::function<void(mled::v1::StreamState&)>;
  const std::vector<std::pair<std::string, Edit>> cases = {
      {"version 0", [](auto& s) { s.set_version(0); }},
      {"version 2", [](auto& s) { s.set_version(2); }},
      {"no model", [](auto& s) { s.clear_model(); }},
      {"dim 0", [](auto& s) { s.mutable_gaussian()->set_dim(0); }},
      {"dim too large", [](auto& s) { s.mutable_gaussian()->set_dim(3); }},
      {"huge dim", [](auto& s) { s.mutable_gaussian()->set_dim(0xffffffffu); }},
      {"short shift", [](auto& s) { s.mutable_gaussian()->mutable_shift()->RemoveLast(); }},
      {"long mean", [](auto& s) { s.mutable_gaussian()->add_mean(0); }},
      {"short comoment", [](auto& s) { s.mutable_gaussian()->mutable_comoment()->RemoveLast(); }},
      {"nan shift", [nan](auto& s) { s.mutable_gaussian()->set_shift(0, nan); }},
      {"inf mean", [inf](auto& s) { s.mutable_gaussian()->set_mean(1, -inf); }},
      {"nan comoment", [nan](auto& s) { s.mutable_gaussian()->set_comoment(3, nan); }},
      {"empty with mean",
       [](auto& s) {
         s.mutable_gaussian()->set_count(0);
         s.mutable_gaussian()->set_mean(0, 1.0);
         for (int i = 0; i < 4; ++i) s.mutable_gaussian()->set_comoment(i, 0.0);
       }},
      {"empty with comoment",
       [](auto& s) {
         s.mutable_gaussian()->set_count(0);
         for (int i = 0; i < 2; ++i) s.mutable_gaussian()->set_mean(i, 0.0);
       }},
      {"asymmetric",
       [](auto& s) { s.mutable_gaussian()->set_comoment(1, 1e-3 + s.gaussian().comoment(2)); }},
      {"negative variance", [](auto& s) { s.mutable_gaussian()->set_comoment(3, -1.0); }},
  };
  ASSERT_TRUE(AccumulatorFromState(ValidState(2)).ok());
  for (const auto& [name, edit] : cases) {
    mled::v1::StreamState state = ValidState(2);
    edit(state);
    const absl::Status status = AccumulatorFromState(state).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_FALSE(status.message().empty()) << name;
  }
  // The concrete classes check the family's dimension too.
  EXPECT_EQ(UnivariateGaussian::FromState(ValidState(2).gaussian()).status().code(),
            absl::StatusCode::kInvalidArgument);
  mled::v1::StreamState uni = ValidState(1);
  uni.mutable_gaussian()->set_comoment(0, -1e-300);
  EXPECT_EQ(AccumulatorFromState(uni).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AccumulatorTest, FromStateDispatchesOnDim) {
  const absl::StatusOr<std::unique_ptr<Accumulator>> one = AccumulatorFromState(ValidState(1));
  ASSERT_TRUE(one.ok());
  EXPECT_NE(dynamic_cast<UnivariateGaussian*>(one->get()), nullptr);
  const absl::StatusOr<std::unique_ptr<Accumulator>> four = AccumulatorFromState(ValidState(4));
  ASSERT_TRUE(four.ok());
  EXPECT_NE(dynamic_cast<MultivariateGaussian*>(four->get()), nullptr);
  EXPECT_EQ((*four)->dim(), 4);
  EXPECT_EQ((*four)->count(), 50u);
}

TEST(AccumulatorTest, CumulativeWeighsEverySampleOne) {
  for (int dim : {1, 3}) {
    const std::unique_ptr<Accumulator> acc = Filled(dim, 8, 200, 5.0);
    EXPECT_EQ(acc->kind(), mled::v1::ESTIMATOR_CUMULATIVE);
    EXPECT_EQ(acc->effective_count(), 200.0);
    acc->AdvanceTo(std::numeric_limits<int64_t>::max());  // no forgetting
    const std::vector<double> row(static_cast<size_t>(dim), 5.0);
    const int64_t time = 1;
    acc->AddRows(row, RowTimes{{&time, 1}});  // times are ignored
    Summary s;
    acc->Summarize(&s);
    EXPECT_EQ(s.count, 201u);
    EXPECT_EQ(s.effective_count, 201.0);
    EXPECT_EQ(s.weight_sum, 201.0);
    // Moments is Summarize without the NLL, and resets a stale one.
    Summary m;
    m.nll = 1.0;
    acc->Moments(&m);
    EXPECT_FALSE(m.nll.has_value());
    EXPECT_EQ(m.count, s.count);
    EXPECT_EQ(m.effective_count, s.effective_count);
    EXPECT_EQ(m.weight_sum, s.weight_sum);
    EXPECT_EQ(m.dim, s.dim);
    EXPECT_TRUE(BitwiseEqual(m.mean, s.mean));
    EXPECT_TRUE(BitwiseEqual(m.covariance, s.covariance));
  }
}

TEST(AccumulatorTest, ValidateEstimatorSpec) {
  using mled::v1::ESTIMATOR_CUMULATIVE;
  using mled::v1::ESTIMATOR_EXPONENTIAL;
  using mled::v1::ESTIMATOR_WINDOW;
  EXPECT_TRUE(ValidateEstimatorSpec({}).ok());
  EXPECT_TRUE(ValidateEstimatorSpec({.kind = ESTIMATOR_EXPONENTIAL, .half_life_ns = 1}).ok());
  EXPECT_TRUE(
      ValidateEstimatorSpec({.kind = ESTIMATOR_WINDOW, .window_ns = 10, .buckets = 10}).ok());
  const std::vector<EstimatorSpec> bad = {
      {.kind = mled::v1::ESTIMATOR_UNSPECIFIED},
      {.kind = static_cast<mled::v1::Estimator>(99)},
      {.kind = ESTIMATOR_EXPONENTIAL},
      {.kind = ESTIMATOR_EXPONENTIAL, .half_life_ns = -1},
      {.kind = ESTIMATOR_WINDOW, .window_ns = 10},
      {.kind = ESTIMATOR_WINDOW, .window_ns = 9, .buckets = 10},
      {.kind = ESTIMATOR_WINDOW, .window_ns = 1'000'000'000'000, .buckets = kMaxWindowBuckets + 1},
  };
  for (const EstimatorSpec& spec : bad) {
    EXPECT_EQ(ValidateEstimatorSpec(spec).code(), absl::StatusCode::kInvalidArgument)
        << spec.kind << " " << spec.half_life_ns << " " << spec.window_ns << " " << spec.buckets;
    EXPECT_EQ(NewAccumulator(spec, 1), nullptr);
  }
  EXPECT_EQ(NewAccumulator({}, 0), nullptr);
  EXPECT_EQ((EstimatorSpec{.kind = ESTIMATOR_EXPONENTIAL, .half_life_ns = 5}),
            (EstimatorSpec{.kind = ESTIMATOR_EXPONENTIAL, .half_life_ns = 5}));
  EXPECT_NE((EstimatorSpec{.kind = ESTIMATOR_EXPONENTIAL, .half_life_ns = 5}),
            (EstimatorSpec{.kind = ESTIMATOR_EXPONENTIAL, .half_life_ns = 6}));
  (void)ESTIMATOR_CUMULATIVE;
}

TEST(AccumulatorTest, NewAccumulatorBuildsEachEstimator) {
  for (int dim : {1, 3}) {
    const std::unique_ptr<Accumulator> cumulative = NewAccumulator({}, dim);
    ASSERT_NE(cumulative, nullptr);
    EXPECT_EQ(cumulative->kind(), mled::v1::ESTIMATOR_CUMULATIVE);
    EXPECT_EQ(cumulative->dim(), dim);
    if (dim == 1) {
      EXPECT_NE(dynamic_cast<UnivariateGaussian*>(cumulative.get()), nullptr);
    } else {
      EXPECT_NE(dynamic_cast<MultivariateGaussian*>(cumulative.get()), nullptr);
    }

    const std::unique_ptr<Accumulator> exponential =
        NewAccumulator({.kind = mled::v1::ESTIMATOR_EXPONENTIAL, .half_life_ns = 1000}, dim);
    ASSERT_NE(exponential, nullptr);
    const auto* e = dynamic_cast<ExponentialGaussian*>(exponential.get());
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->dim(), dim);
    EXPECT_EQ(e->half_life_ns(), 1000);

    const std::unique_ptr<Accumulator> window = NewAccumulator(
        {.kind = mled::v1::ESTIMATOR_WINDOW, .window_ns = 60'000, .buckets = 6}, dim);
    ASSERT_NE(window, nullptr);
    const auto* w = dynamic_cast<WindowGaussian*>(window.get());
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->dim(), dim);
    EXPECT_EQ(w->bucket_ns(), 10'000);
    EXPECT_EQ(w->buckets(), 6u);

    for (const Accumulator* acc : {cumulative.get(), exponential.get(), window.get()}) {
      EXPECT_EQ(acc->count(), 0u);
      EXPECT_EQ(acc->effective_count(), 0);
      Summary s;
      acc->Summarize(&s);
      EXPECT_EQ(s.dim, dim);
      EXPECT_FALSE(s.nll.has_value());
      mled::v1::StreamState state;
      acc->ToState(&state);
      const absl::StatusOr<std::unique_ptr<Accumulator>> restored = AccumulatorFromState(state);
      ASSERT_TRUE(restored.ok()) << restored.status();
      EXPECT_EQ((*restored)->kind(), acc->kind());
      EXPECT_EQ((*restored)->dim(), dim);
    }
  }
}

}  // namespace
}  // namespace mled::stats
