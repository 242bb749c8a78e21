// Recording VMs live into a file (record_file.hpp): attach to each VM through
// /dev/self-e, drain, seed and release exactly as Watcher does, but write
// every drain and every seeded page to the file instead of applying them,
// so that replaying the file (replay.hpp) reaches the state a Watcher
// attached at the same moment reaches. `self-e record` drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "self_e/control.hpp"
#include "self_e/device.hpp"
#include "self_e/procfs.hpp"
#include "self_e/record_file.hpp"

namespace self_e {

struct RecorderOptions {
    std::uint64_t event_mask = 0;  // SELF_E_EVENT_MASK() bits; 0 = every type
    std::uint32_t ring_bytes = 4u << 20;
    std::uint32_t watermark = 64;
    // Access sampling of every VM while recorded (interval 0: none), as
    // WatchOptions::sampling: ACCESS and SAMPLE records in the file.
    SamplingSettings sampling;
};

struct RecordedVmState {
    std::uint16_t vm_id = 0;
    pid_t pid = 0;
    bool ended = false;  // its VM_DESTROY has been read
};

class Recorder {
public:
    // Takes the start time, attaches to every target, writes the header to
    // path, the first drain and each VM's snapshot. With a listener (made
    // before the caller listed the VMs, so that none falls in between), VMs
    // created later are attached, written and seeded as they appear.
    // Throws self_e::Error naming the VM, file or call that failed.
    Recorder(const std::string& path, const std::vector<AttachTarget>& targets,
             RecorderOptions options = {}, std::unique_ptr<NotificationListener> listener = nullptr,
             ProcFs proc = ProcFs{});

    // Waits up to timeout for a ring's watermark, a notification or a
    // signal, then drains every ring into the file. False once every VM
    // ended (never while following new VMs).
    bool pump(std::chrono::milliseconds timeout);
    // A last drain and the END record.
    void finish();

    std::uint64_t events_written() const noexcept { return writer_->events_written(); }
    std::uint64_t file_bytes() const noexcept { return writer_->file_bytes(); }
    const std::vector<RecordedVmState>& vms() const noexcept { return vms_; }
    // Events the module dropped for our rings (ring full), after finish().
    std::uint64_t dropped() const noexcept { return dropped_; }

private:
    RecordedVm attach(const AttachTarget& target);
    void drain();
    void seed(const RecordedVm& vm);
    void seed_unless_gone(const RecordedVm& vm);
    void follow_new_vms();

    RecorderOptions options_;
    ProcFs proc_;
    std::unique_ptr<NotificationListener> listener_;
    std::vector<DeviceSession> sessions_;  // parallel to vms_
    std::vector<RecordedVmState> vms_;
    std::unique_ptr<RecordWriter> writer_;
    std::vector<Event> batch_;
    std::uint64_t seeded_ns_ = 0;
    std::uint64_t dropped_ = 0;
};

// CLOCK_MONOTONIC and CLOCK_REALTIME in ns.
std::uint64_t monotonic_ns() noexcept;
std::uint64_t realtime_ns() noexcept;

}  // namespace self_e
