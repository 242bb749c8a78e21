#include "self_e/replay.hpp"

#include <algorithm>
#include <type_traits>

namespace self_e {

ReplayResult replay(RecordReader& reader, Aggregator& aggregator, std::optional<std::uint16_t> only_vm)
{
    ReplayResult result;
    const auto wanted = [&](std::uint16_t vm_id) { return !only_vm || *only_vm == vm_id; };
    const auto note_vm = [&](std::uint16_t vm_id) {
        if (wanted(vm_id) && std::find(result.vm_ids.begin(), result.vm_ids.end(), vm_id) == result.vm_ids.end())
            result.vm_ids.push_back(vm_id);
    };
    for (const RecordedVm& vm : reader.header().vms)
        note_vm(vm.vm_id);
    while (auto item = reader.next()) {
        std::visit(
            [&](auto& it) {
                using T = std::decay_t<decltype(it)>;
                if constexpr (std::is_same_v<T, VmAdded>) {
                    note_vm(it.vm.vm_id);
                } else if constexpr (std::is_same_v<T, EventBatch>) {
                    if (!only_vm) {
                        // A drain's lanes one after the other: runs, split
                        // where the ts goes back.
                        const std::span<const Event> all(it.events);
                        aggregator.push_runs(std::span(&all, 1));
                        result.events += all.size();
                    } else {
                        for (const Event& ev : it.events) {
                            if (!wanted(ev.vm_id))
                                continue;
                            aggregator.push(ev);
                            ++result.events;
                        }
                    }
                    aggregator.release();
                } else if constexpr (std::is_same_v<T, SeedStart>) {
                    if (wanted(it.vm_id))
                        aggregator.seed_vm(it.vm_id, it.pid, it.slots);
                } else if constexpr (std::is_same_v<T, SeedPages>) {
                    if (wanted(it.vm_id))
                        aggregator.seed_pages(it.vm_id, it.first_hva, it.pages);
                } else if constexpr (std::is_same_v<T, RecordEnd>) {
                    aggregator.flush();
                    for (const VmEndStats& s : it.vms)
                        if (wanted(s.vm_id))
                            result.end.vms.push_back(s);
                    result.end.seeded_mono_ns = it.seeded_mono_ns;
                    result.end.end_mono_ns = it.end_mono_ns;
                    result.end.end_real_ns = it.end_real_ns;
                }
            },
            *item);
    }
    return result;
}

}  // namespace self_e
