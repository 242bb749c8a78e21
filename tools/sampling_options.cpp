#include "sampling_options.hpp"

#include <fmt/core.h>

#include <chrono>

#include "command.hpp"

namespace self_e::tool {

void SamplingOptions::declare(CLI::App& app, const std::string& what_for)
{
    app.add_option("--sample-interval", interval_ms_,
                   fmt::format("sample page accesses every MS ms ({}..{}){}", SELF_E_SAMPLE_MIN_MS,
                               SELF_E_SAMPLE_MAX_MS, what_for))
        ->check(CLI::Range(SELF_E_SAMPLE_MIN_MS, SELF_E_SAMPLE_MAX_MS));
    app.add_option("--sample-budget", budget_pages_,
                   fmt::format("pages one sampling pass looks at (default {}); a larger VM is covered "
                               "over several passes",
                               SELF_E_SAMPLE_DEFAULT_BUDGET))
        ->check(CLI::Range(1u, SELF_E_SAMPLE_MAX_BUDGET));
}

SamplingSettings SamplingOptions::settings() const
{
    if (budget_pages_ && !interval_ms_)
        throw UsageError("--sample-budget needs --sample-interval");
    return {std::chrono::milliseconds(interval_ms_), budget_pages_};
}

}  // namespace self_e::tool
