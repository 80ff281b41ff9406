#include "daemon/dashboard_assets.h"

// Placeholder until the embedded dashboard lands (issue 4, in progress): no assets.
namespace mled::daemon {

const DashboardAsset* FindDashboardAsset(std::string_view) { return nullptr; }

}  // namespace mled::daemon
