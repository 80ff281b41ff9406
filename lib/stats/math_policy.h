// Shared settings for the special functions behind every score: the Boost.Math error policy and
// the constant log(2 pi).
//
// Boost.Math reports domain errors and overflow by throwing by default; the daemon must never
// throw out of a score, so every error returns a value (NaN or Inf) that callers then clamp
// (finite.h). promote_double<false>: Boost would otherwise evaluate in long double (x87),
// several times slower per score (9x for the chi-squared tail at D = 1, bench/stats_bench) for
// digits a p-value threshold does not use.
#ifndef MLED_LIB_STATS_MATH_POLICY_H_
#define MLED_LIB_STATS_MATH_POLICY_H_

#include <boost/math/policies/policy.hpp>

namespace mled::stats {

using NoThrowPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>,
    boost::math::policies::promote_double<false>>;

// log(2 pi); a literal because std::log is not constexpr in C++20.
inline constexpr double kLog2Pi = 1.8378770664093454835606594728112;

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_MATH_POLICY_H_
