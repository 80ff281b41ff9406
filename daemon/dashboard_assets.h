// The built-in dashboard's files (web/), embedded into the binary at build time so the page works
// on machines with no internet and no files beside the binary.
//
// Thread-safe: the assets are immutable static data.
#ifndef MLED_DAEMON_DASHBOARD_ASSETS_H_
#define MLED_DAEMON_DASHBOARD_ASSETS_H_

#include <string_view>

namespace mled::daemon {

struct DashboardAsset {
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view body;
};

// The file served at `path` ("/" and "/index.html" are web/index.html, "/dashboard.js" is
// web/dashboard.js, ...); nullptr when there is none.
const DashboardAsset* FindDashboardAsset(std::string_view path);

}  // namespace mled::daemon

#endif  // MLED_DAEMON_DASHBOARD_ASSETS_H_
