// The module's generic-netlink family "self_e" through libnl-genl-3: list the
// VMs the module tracks (with memslots and counters), module statistics, and
// the "events" multicast group's notifications as values. Needs self_e.ko
// and root (CAP_SYS_ADMIN), like the device.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "self_e/error.hpp"
#include "self_e/memslot.hpp"

struct nl_sock;

namespace self_e {

// One VM as LIST_VMS and GET_STATS describe it.
struct VmDescription {
    std::uint32_t vm_id = 0;
    pid_t pid = 0;
    std::string comm;  // the owning process's name when the VM was created
    std::uint32_t nr_vcpus = 0;
    std::uint64_t events = 0;   // events produced for this VM
    std::uint64_t dropped = 0;  // lost by its readers' full rings
    std::uint32_t readers = 0;  // readers attached now
    // Access sampling: interval and pages per pass now (0: off), passes run
    // and the time they took, since the module found the VM.
    std::uint32_t sample_interval_ms = 0;
    std::uint32_t sample_budget = 0;
    std::uint64_t sample_passes = 0;
    std::uint64_t sample_ns = 0;
    std::vector<Memslot> memslots;

    std::uint64_t memory_bytes() const noexcept { return guest_memory_bytes(memslots); }
};

struct ModuleStats {
    std::uint32_t nr_vms = 0;
    std::uint32_t readers = 0;  // open, started readers of /dev/self-e
};

// Notifications of the "events" group.
struct VmCreated {
    std::uint32_t vm_id = 0;
    pid_t pid = 0;
    std::string comm;
};
struct VmDestroyed {
    std::uint32_t vm_id = 0;
    pid_t pid = 0;
    std::string comm;
};
struct MemslotChanged {
    std::uint32_t vm_id = 0;
    std::uint8_t change = 0;  // SELF_E_MEMSLOT_CREATE, _DELETE, _MOVE, _FLAGS
    Memslot slot;
};
struct RingOverflow {
    std::uint32_t vm_id = 0;
    std::uint64_t dropped = 0;
};
using Notification = std::variant<VmCreated, VmDestroyed, MemslotChanged, RingOverflow>;

// A netlink socket that frees itself.
struct NlSockDeleter {
    void operator()(nl_sock* sock) const noexcept;
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockDeleter>;

// Requests: one socket, one request at a time.
class ControlClient {
public:
    // Connects and resolves the family; when it is missing, the module is
    // not loaded (ErrorKind::unsupported, and the message says so).
    ControlClient();

    // Every VM (LIST_VMS dump), or only vm_id's (empty if there is none).
    std::vector<VmDescription> list_vms(std::optional<std::uint32_t> vm_id = std::nullopt);
    ModuleStats module_stats();
    // Throws Error(no_such_process) naming the VM when there is no such VM.
    VmDescription vm_stats(std::uint32_t vm_id);

    int family() const noexcept { return family_; }

private:
    NlSockPtr sock_;
    int family_ = 0;
};

// A member of the "events" group. Notifications sent before it joined are
// not seen; netlink may drop some when the socket's buffer is full (then
// receive() throws with ENOBUFS in the message).
class NotificationListener {
public:
    NotificationListener();

    int fd() const;  // for poll() together with other files
    // What arrives within timeout (at least one, unless it runs out).
    std::vector<Notification> receive(std::chrono::milliseconds timeout);

private:
    NlSockPtr sock_;
};

// "create", "delete", "move", "flags" (as the text stream spells them).
const char* memslot_change_name(std::uint8_t change) noexcept;

}  // namespace self_e
