#include "sampler.hpp"

#include <time.h>

#include "self_e/control.hpp"
#include "self_e/error.hpp"
#include "self_e/qemu.hpp"

namespace self_e::tool {

HostKsm read_host_ksm(const SysFs& sys)
{
    HostKsm ksm;
    if (auto values = sys.ksm()) {
        ksm.available = true;
        ksm.values = std::move(*values);
    }
    return ksm;
}

std::string vm_process_name(const ProcFs& proc, pid_t pid, const std::string& comm_fallback)
{
    try {
        const std::vector<std::string> argv = proc.cmdline(pid);
        if (is_qemu_command(argv))
            if (auto name = qemu_guest_name(argv))
                return *name;
        return comm_fallback.empty() ? proc.comm(pid) : comm_fallback;
    } catch (const Error&) {
        return comm_fallback;  // gone since it was listed
    }
}

double monotonic_seconds()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::unique_ptr<Sampler> make_sampler(SamplingSettings sampling)
{
    try {
        return make_live_sampler(sampling);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::unsupported)
            throw;
    }
    return make_proc_sampler();
}

}  // namespace self_e::tool
