// The part of control.cpp that reads the family's messages: over a netlink
// message in memory, so the libFuzzer targets (tests/fuzz/) reach it without
// a socket. Not public API.
#pragma once

#include <linux/netlink.h>

#include <vector>

#include "self_e/control.hpp"

namespace self_e::detail {

// A LIST_VMS or GET_STATS reply (netlink header first, nlmsg_len bytes):
// a VM goes to vms, module counters to module (got_module set). false: the
// message does not parse (the callers skip it).
bool parse_reply_message(nlmsghdr* hdr, std::vector<VmDescription>& vms, ModuleStats& module,
                         bool& got_module);

// One message of the "events" group; false when it does not parse. An
// unknown command adds nothing.
bool parse_notification(nlmsghdr* hdr, std::vector<Notification>& notes);

}  // namespace self_e::detail
