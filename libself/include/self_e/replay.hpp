// Reading a recording (record_file.hpp) back into an Aggregator the way a
// Watcher fed it live: each EVENTS record pushed then released, each SEED
// and PAGES record seeded, everything flushed at END. `self-e report
// --from` prints the result with the live report's code.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "self_e/aggregator.hpp"
#include "self_e/record_file.hpp"

namespace self_e {

struct ReplayResult {
    RecordEnd end;                       // the END record
    std::vector<std::uint16_t> vm_ids;   // the VMs replayed, in the order they came
    std::uint64_t events = 0;            // events pushed
};

// Reads every item of reader into aggregator; with only_vm, the events and
// seeds of that VM only, as if it alone had been watched. Throws
// self_e::Error (bad_format) from the reader.
ReplayResult replay(RecordReader& reader, Aggregator& aggregator,
                    std::optional<std::uint16_t> only_vm = std::nullopt);

}  // namespace self_e
