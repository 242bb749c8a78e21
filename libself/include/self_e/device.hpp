// A session on /dev/self-e: open the device, attach to one VM, map its ring
// and read events through RingConsumer, wait with poll(), ask for counters
// and the VM's description. Needs self_e.ko and root (CAP_SYS_ADMIN).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "self_e/error.hpp"
#include "self_e/memslot.hpp"
#include "self_e/ring.hpp"
#include "self_e/unique_fd.hpp"

namespace self_e {

inline constexpr const char* kDevicePath = "/dev/" SELF_E_DEVICE_NAME;

// Opens the device read-write (needed to map the consumer area). Errors say
// what to do: no device node means the module is not loaded (ErrorKind::
// unsupported); EPERM/EACCES means root is needed (ErrorKind::permission).
UniqueFd open_device(const std::string& path = kDevicePath);

// One VM as SELF_E_IOC_GET_VM describes it; works on any open device file.
struct VmInfo {
    std::uint32_t vm_id = 0;
    pid_t pid = 0;
    std::uint32_t nr_vcpus = 0;
    std::vector<Memslot> memslots;
};

// Throws Error(no_such_process) naming the VM when the module has no such VM.
VmInfo read_vm_info(const UniqueFd& device, std::uint32_t vm_id);

// A mapping that unmaps itself.
class MappedArea {
public:
    MappedArea() noexcept = default;
    MappedArea(void* addr, std::size_t size) noexcept : addr_(addr), size_(size) {}
    MappedArea(MappedArea&& other) noexcept;
    MappedArea& operator=(MappedArea&& other) noexcept;
    MappedArea(const MappedArea&) = delete;
    MappedArea& operator=(const MappedArea&) = delete;
    ~MappedArea() { reset(); }

    void* get() const noexcept { return addr_; }
    std::size_t size() const noexcept { return size_; }
    void reset() noexcept;

private:
    void* addr_ = nullptr;
    std::size_t size_ = 0;
};

// Which VM to attach to: by the module's VM id or by the owning process.
struct AttachTarget {
    enum class By { vm_id, pid };
    By by = By::vm_id;
    std::uint32_t value = 0;

    static AttachTarget vm(std::uint32_t vm_id) noexcept { return {By::vm_id, vm_id}; }
    static AttachTarget process(pid_t pid) noexcept
    {
        return {By::pid, static_cast<std::uint32_t>(pid)};
    }
    std::string describe() const;  // "VM 3" or "pid 1234", for messages
};

struct AttachOptions {
    std::uint64_t event_mask = 0;  // SELF_E_EVENT_MASK() bits; 0 = every type
    std::uint32_t ring_bytes = 0;  // record bytes wanted; 0 = the module's default
    std::uint32_t watermark = 0;   // records in a lane that wake wait(); 0 = 1
};

// A reader's counters (SELF_E_IOC_GET_STATS).
struct ReaderStats {
    std::uint64_t produced = 0;  // events offered to this reader, kept and dropped
    std::uint64_t dropped = 0;   // lost because the ring was full
    std::array<std::uint64_t, SELF_E_EV_MAX> by_type{};
};

// Access sampling of a VM (SELF_E_IOC_SET_SAMPLING): a pass every interval,
// looking at no more than budget_pages guest pages.
struct SamplingSettings {
    std::chrono::milliseconds interval{0};  // 0: off
    std::uint32_t budget_pages = 0;         // 0: the module's default
};

// SELF_E_IOC_GET_STATS on a started reader; who names it in errors.
ReaderStats read_reader_stats(const UniqueFd& device, const std::string& who);

enum class WaitResult {
    readable,  // a lane reached the watermark
    timeout,
    interrupted,  // a signal arrived (EINTR): the caller checks its flags
    ended,        // the VM is gone (POLLHUP); drain once more for its last events
};

class DeviceSession {
public:
    // Opens path, attaches and maps the ring. Errors name the target: an
    // unknown VM or a pid without one is ErrorKind::no_such_process.
    DeviceSession(const AttachTarget& target, const AttachOptions& options = {},
                  const std::string& path = kDevicePath);

    std::uint32_t vm_id() const noexcept { return attach_.vm_id; }
    pid_t pid() const noexcept { return static_cast<pid_t>(attach_.pid); }
    std::uint32_t ring_bytes() const noexcept { return attach_.ring_bytes; }
    std::uint32_t watermark() const noexcept { return attach_.watermark; }
    int fd() const noexcept { return fd_.get(); }

    // The mapped ring. Only one consumer may read it at a time.
    RingConsumer& consumer() noexcept { return consumer_; }

    // Blocks until a lane holds watermark records, the VM ends, a signal
    // arrives or timeout passes.
    WaitResult wait(std::chrono::milliseconds timeout);

    void set_event_mask(std::uint64_t mask);
    // Asks the module to sample the VM's accesses (interval 0 stops it), for
    // as long as this session lives; returns what the VM is sampled with
    // now (the shortest interval and largest budget its readers ask for).
    // Out-of-range values are Error(invalid_argument) naming the range.
    SamplingSettings set_sampling(const SamplingSettings& wanted);
    ReaderStats stats() const;
    // Throws Error(no_such_process) once the VM has ended.
    VmInfo vm_info() const;

private:
    std::string path_;
    UniqueFd fd_;
    self_e_attach attach_{};
    MappedArea cons_area_;
    MappedArea ring_area_;
    RingConsumer consumer_;
};

}  // namespace self_e
