#include "self_e/device.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "self_e/error.hpp"

namespace self_e {

namespace {

constexpr const char* kModuleHint =
    "the self_e module is not loaded (insmod self_e.ko); `self-e snapshot` works without it";
constexpr const char* kRootHint = "reading VM events needs root (CAP_SYS_ADMIN)";

std::string vm_name(std::uint32_t vm_id) { return "VM " + std::to_string(vm_id); }

MappedArea map_area(int fd, std::uint64_t offset, std::uint64_t size, int prot,
                    const std::string& what)
{
    void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED)
        throw system_error(what, errno);
    return MappedArea(p, size);
}

}  // namespace

UniqueFd open_device(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0)
        return UniqueFd(fd);
    const int err = errno;
    // ENODEV/ENXIO: a stale node whose driver is gone.
    if (err == ENOENT || err == ENODEV || err == ENXIO)
        throw Error(ErrorKind::unsupported,
                    "open " + path + ": " + std::strerror(err) + ": " + kModuleHint, err);
    if (err == EPERM || err == EACCES)
        throw Error(ErrorKind::permission,
                    "open " + path + ": " + std::strerror(err) + ": " + kRootHint, err);
    throw system_error("open " + path, err);
}

VmInfo read_vm_info(const UniqueFd& device, std::uint32_t vm_id)
{
    // The slot count may grow between the two calls: ask until it fits.
    std::vector<self_e_memslot> raw(8);
    self_e_vm_info info{};
    for (;;) {
        info = {};
        info.vm_id = vm_id;
        info.nr_slots = static_cast<std::uint32_t>(raw.size());
        info.slots_ptr = reinterpret_cast<std::uintptr_t>(raw.data());
        if (::ioctl(device.get(), SELF_E_IOC_GET_VM, &info) != 0) {
            const int err = errno;
            if (err == ENOENT)
                throw Error(ErrorKind::no_such_process,
                            "no " + vm_name(vm_id) + " (it ended or never existed; see `self-e list`)",
                            err);
            throw system_error(vm_name(vm_id) + ": ioctl SELF_E_IOC_GET_VM", err);
        }
        if (info.nr_slots <= raw.size())
            break;
        raw.resize(info.nr_slots);
    }
    VmInfo out{info.vm_id, static_cast<pid_t>(info.pid), info.nr_vcpus, {}};
    out.memslots.reserve(info.nr_slots);
    for (std::uint32_t i = 0; i < info.nr_slots; ++i)
        out.memslots.push_back({raw[i].base_gfn, raw[i].npages, raw[i].hva, raw[i].id, raw[i].flags});
    return out;
}

MappedArea::MappedArea(MappedArea&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0))
{
}

MappedArea& MappedArea::operator=(MappedArea&& other) noexcept
{
    if (this != &other) {
        reset();
        addr_ = std::exchange(other.addr_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void MappedArea::reset() noexcept
{
    if (addr_)
        ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
}

std::string AttachTarget::describe() const
{
    return by == By::pid ? "pid " + std::to_string(value) : vm_name(value);
}

DeviceSession::DeviceSession(const AttachTarget& target, const AttachOptions& options,
                             const std::string& path)
    : path_(path), fd_(open_device(path)), consumer_(self_e_ring_view{})
{
    attach_.flags = target.by == AttachTarget::By::pid ? SELF_E_ATTACH_BY_PID : 0;
    if (target.by == AttachTarget::By::pid)
        attach_.pid = target.value;
    else
        attach_.vm_id = target.value;
    attach_.ring_bytes = options.ring_bytes;
    attach_.event_mask = options.event_mask;
    attach_.watermark = options.watermark;
    if (::ioctl(fd_.get(), SELF_E_IOC_ATTACH, &attach_) != 0) {
        const int err = errno;
        if (err == ESRCH)
            throw Error(ErrorKind::no_such_process,
                        "pid " + std::to_string(target.value) +
                            " has no KVM VM that self_e knows (see `self-e list`)",
                        err);
        if (err == ENOENT)
            throw Error(ErrorKind::no_such_process,
                        "no " + vm_name(target.value) + " (it ended or never existed; see `self-e list`)",
                        err);
        if (err == EINVAL)
            throw Error(ErrorKind::invalid_argument,
                        "attach to " + target.describe() +
                            ": the module refused the ring size, watermark or event mask",
                        err);
        throw system_error("attach to " + target.describe() + ": ioctl SELF_E_IOC_ATTACH", err);
    }

    const std::string who = vm_name(attach_.vm_id);
    cons_area_ = map_area(fd_.get(), attach_.cons_offset, attach_.cons_size, PROT_READ | PROT_WRITE,
                          who + ": mmap the consumer area of " + path);
    ring_area_ = map_area(fd_.get(), attach_.ring_offset, attach_.ring_size, PROT_READ,
                          who + ": mmap the ring of " + path);

    auto* ring = static_cast<const unsigned char*>(ring_area_.get());
    self_e_ring_header header;
    std::memcpy(&header, ring, sizeof header);
    if (header.magic != SELF_E_RING_MAGIC || header.abi_version != SELF_E_ABI_VERSION ||
        header.record_size != sizeof(self_e_event) || header.nr_lanes != attach_.nr_lanes ||
        header.lane_order != attach_.lane_order ||
        header.data_offset + self_e_ring_data_bytes(header.nr_lanes, header.lane_order) >
            attach_.ring_size ||
        attach_.nr_lanes * sizeof(self_e_lane_cons) > attach_.cons_size)
        throw Error(ErrorKind::bad_format,
                    who + ": the ring's header does not match the attach reply (ABI " +
                        std::to_string(header.abi_version) + ", this libself speaks " +
                        std::to_string(SELF_E_ABI_VERSION) + ")");

    self_e_ring_view view{};
    // The producer states and records are only read here; the view's type is
    // shared with the kernel, which writes them.
    view.prod = reinterpret_cast<self_e_lane_prod*>(const_cast<unsigned char*>(ring + header.prod_offset));
    view.cons = static_cast<self_e_lane_cons*>(cons_area_.get());
    view.data = reinterpret_cast<self_e_event*>(const_cast<unsigned char*>(ring + header.data_offset));
    view.nr_lanes = header.nr_lanes;
    view.lane_order = header.lane_order;
    view.vm_id = static_cast<__u16>(header.vm_id);
    consumer_ = RingConsumer(view);
}

WaitResult DeviceSession::wait(std::chrono::milliseconds timeout)
{
    pollfd pfd{fd_.get(), POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (n < 0) {
        if (errno == EINTR)
            return WaitResult::interrupted;
        throw system_error(vm_name(attach_.vm_id) + ": poll " + path_, errno);
    }
    if (n == 0)
        return WaitResult::timeout;
    if (pfd.revents & POLLHUP)
        return WaitResult::ended;
    if (pfd.revents & (POLLERR | POLLNVAL))
        throw Error(ErrorKind::io, vm_name(attach_.vm_id) + ": poll " + path_ + " reported an error");
    return WaitResult::readable;
}

void DeviceSession::set_event_mask(std::uint64_t mask)
{
    if (::ioctl(fd_.get(), SELF_E_IOC_SET_MASK, &mask) != 0)
        throw system_error(vm_name(attach_.vm_id) + ": ioctl SELF_E_IOC_SET_MASK", errno);
}

SamplingSettings DeviceSession::set_sampling(const SamplingSettings& wanted)
{
    const auto ms = wanted.interval.count();
    if (ms != 0 && (ms < SELF_E_SAMPLE_MIN_MS || ms > SELF_E_SAMPLE_MAX_MS))
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("sampling interval {} ms: must be {}..{} ms", ms, SELF_E_SAMPLE_MIN_MS,
                                SELF_E_SAMPLE_MAX_MS));
    if (wanted.budget_pages > SELF_E_SAMPLE_MAX_BUDGET)
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("sampling budget {} pages: must be at most {}", wanted.budget_pages,
                                SELF_E_SAMPLE_MAX_BUDGET));
    self_e_sampling raw{};
    raw.interval_ms = static_cast<std::uint32_t>(ms);
    raw.budget_pages = wanted.budget_pages;
    if (::ioctl(fd_.get(), SELF_E_IOC_SET_SAMPLING, &raw) != 0)
        throw system_error(vm_name(attach_.vm_id) + ": ioctl SELF_E_IOC_SET_SAMPLING", errno);
    return {std::chrono::milliseconds(raw.interval_ms), raw.budget_pages};
}

ReaderStats read_reader_stats(const UniqueFd& device, const std::string& who)
{
    self_e_stats raw{};
    if (::ioctl(device.get(), SELF_E_IOC_GET_STATS, &raw) != 0)
        throw system_error(who + ": ioctl SELF_E_IOC_GET_STATS", errno);
    ReaderStats out{raw.produced, raw.dropped, {}};
    for (std::size_t t = 0; t < out.by_type.size(); ++t)
        out.by_type[t] = raw.by_type[t];
    return out;
}

ReaderStats DeviceSession::stats() const { return read_reader_stats(fd_, vm_name(attach_.vm_id)); }

VmInfo DeviceSession::vm_info() const { return read_vm_info(fd_, attach_.vm_id); }

}  // namespace self_e
