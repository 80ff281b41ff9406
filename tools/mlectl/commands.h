// The commands of mlectl, one file each; main.cc lists them in this order.
#ifndef MLED_TOOLS_MLECTL_COMMANDS_H_
#define MLED_TOOLS_MLECTL_COMMANDS_H_

#include "tools/mlectl/command.h"

namespace mled::mlectl {

const Command& SendCommand();       // send.cc
const Command& SubscribeCommand();  // subscribe.cc
const Command& QueryCommand();      // query.cc
const Command& ResetCommand();      // reset.cc
const Command& StatsCommand();      // stats.cc
const Command& BenchCommand();      // bench.cc
const Command& DemoCommand();       // demo.cc

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_COMMANDS_H_
