// --sample-interval MS and --sample-budget PAGES: how every command that can
// ask self_e.ko to sample page accesses (trace, report, record, top, export)
// takes them, with one range check and one usage rule.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "self_e/device.hpp"

namespace self_e::tool {

class SamplingOptions {
public:
    // Adds both options to app; what_for ends the interval's help text
    // ("for the working set", ...).
    void declare(CLI::App& app, const std::string& what_for);
    // Whether either option was given.
    bool given() const noexcept { return interval_ms_ || budget_pages_; }
    // What was asked for (interval 0: no sampling). Throws UsageError for a
    // budget without an interval.
    SamplingSettings settings() const;

private:
    std::uint32_t interval_ms_ = 0;
    std::uint32_t budget_pages_ = 0;
};

}  // namespace self_e::tool
