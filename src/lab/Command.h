#pragma once
// The lab runs its external tools (ip, ethtool, tc, iperf3, sluiced) through common/Process.h;
// these names keep the lab's code and tests reading as they did.

#include "common/Process.h"

namespace sluice::lab {

using process::Argv;
using process::Child;
using process::CommandOutput;
using process::describe;
using process::processAlive;
using process::run;
using process::runChecked;
using process::startDetached;
using process::stopProcess;

}  // namespace sluice::lab
