// The subcommand framework of self-e: one Command per file (cmd_*.cpp),
// listed in commands.cpp; self_e_main.cpp parses and dispatches.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>

namespace self_e::tool {

// Exit codes of every subcommand.
enum ExitCode : int {
    kExitOk = 0,
    kExitFailed = 1,  // the command could not do its job (no such process, need root, ...)
    kExitUsage = 2,   // the command line was wrong
};

// A command line that parsed but makes no sense (e.g. overlapping ranges):
// reported like CLI11's errors, with exit code kExitUsage.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Command {
public:
    virtual ~Command() = default;
    // Declares the options on the subcommand's app (its name, summary and
    // --help are already set). Options write into the command's members.
    virtual void declare(CLI::App& app) = 0;
    // Runs after a successful parse; returns an ExitCode. Throws
    // self_e::Error or UsageError on failure; the dispatcher prints it.
    virtual int run() = 0;
};

struct CommandInfo {
    std::string_view name;
    std::string_view summary;
    std::unique_ptr<Command> (*make)();
};

// self-e's main: parses argv and runs the command it names; returns the
// ExitCode. parse_only stops after parsing (tests/fuzz/fuzz_cli.cpp).
enum class DispatchMode { run, parse_only };
int dispatch(int argc, char** argv, DispatchMode mode);

// Every subcommand, in the order `self-e --help` lists them.
std::span<const CommandInfo> commands();

// One per cmd_*.cpp.
std::unique_ptr<Command> make_snapshot_command();
std::unique_ptr<Command> make_list_command();
std::unique_ptr<Command> make_trace_command();
std::unique_ptr<Command> make_report_command();
std::unique_ptr<Command> make_top_command();
std::unique_ptr<Command> make_export_command();
std::unique_ptr<Command> make_record_command();
std::unique_ptr<Command> make_heatmap_command();

}  // namespace self_e::tool
