// Status propagation macros. Debian's Abseil (20220623) ships none, so they live here, once.
//
//   RETURN_IF_ERROR(DoThing());
//   ASSIGN_OR_RETURN(Config config, LoadConfig(path));
//
// Both evaluate their argument exactly once and return the failing `absl::Status` unchanged.
#ifndef MLED_LIB_BASE_STATUS_MACROS_H_
#define MLED_LIB_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MLED_STATUS_CONCAT_INNER_(a, b) a##b
#define MLED_STATUS_CONCAT_(a, b) MLED_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status mled_status_ = (expr);              \
    if (!mled_status_.ok()) return mled_status_;       \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  MLED_ASSIGN_OR_RETURN_IMPL_(MLED_STATUS_CONCAT_(mled_statusor_, __LINE__), lhs, expr)

#define MLED_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return statusor.status();          \
  lhs = std::move(statusor).value()

#endif  // MLED_LIB_BASE_STATUS_MACROS_H_
