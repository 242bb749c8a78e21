// `self-e list --watch`: the module's notifications, one line each, in the
// text stream's key=value style, or as one JSON object a line.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "self_e/control.hpp"

namespace self_e::tool {

//   vm_new vm=<id> pid=<n> comm=<name>
//   vm_del vm=<id> pid=<n> comm=<name>
//   memslot vm=<id> slot=<n> as=<n> gfn=0x<x> pages=<n> hva=0x<x> change=create|delete|move|flags
//   overflow vm=<id> dropped=<n>        (vm=0: the all-VM text stream's ring)
// '\n' included.
std::string notification_to_text(const Notification& note);

// {"note":"vm_new","vm":..,"pid":..,"comm":..}, the same keys as the text;
// numbers are JSON numbers.
nlohmann::ordered_json notification_to_json(const Notification& note);

}  // namespace self_e::tool
