// The Prometheus text exposition format (version 0.0.4) and the metrics
// `self-e export` serves, built from a VmSample. The metric names, types and
// labels are an interface (dashboards and alerts rely on them): the table is
// in README.md, "Prometheus export".
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vm_sample.hpp"

namespace self_e::tool {

enum class MetricType { gauge, counter };

struct Label {
    std::string name;
    std::string value;
};

struct MetricPoint {
    std::vector<Label> labels;
    double value = 0;
};

struct MetricFamily {
    std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*
    std::string help;
    MetricType type = MetricType::gauge;
    std::vector<MetricPoint> points;
};

// The content type of what render_exposition() writes.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label value as the format quotes it: \ as \\, " as \", newline as \n.
std::string escape_label_value(std::string_view value);
// HELP text: \ as \\, newline as \n.
std::string escape_help(std::string_view help);
// A sample value: integers in full ("4096"), others as the shortest text
// that reads back the same, NaN and +Inf/-Inf as the format spells them.
std::string format_metric_value(double value);

// "# HELP", "# TYPE" and one line per point for every family in order;
// families without points are left out.
std::string render_exposition(std::span<const MetricFamily> families);

// Every metric of a sample (README.md lists them).
std::vector<MetricFamily> metrics_from_sample(const VmSample& sample);

}  // namespace self_e::tool
