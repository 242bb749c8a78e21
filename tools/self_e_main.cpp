// self-e: the operator's command. One binary, one subcommand per concern
// (command.hpp); each has --help.
#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "self_e/error.hpp"
#include "uapi/self_e.h"

using namespace self_e::tool;

int self_e::tool::dispatch(int argc, char** argv, DispatchMode mode)
{
    CLI::App app{"SELF-e shows, live, how each KVM virtual machine on this host uses its memory.",
                 "self-e"};
    app.set_version_flag("--version", fmt::format("self-e {} (ABI {})", SELF_E_VERSION,
                                                  SELF_E_ABI_VERSION));
    app.require_subcommand(1);
    app.footer("Run 'self-e COMMAND --help' for the options of a command.\n"
               "Exit status: 0 success, 1 the command failed, 2 bad command line.");

    struct Entry {
        const CommandInfo* info;
        CLI::App* app;
        std::unique_ptr<Command> command;
    };
    std::vector<Entry> entries;
    for (const CommandInfo& info : commands()) {
        CLI::App* sub = app.add_subcommand(std::string(info.name), std::string(info.summary));
        auto command = info.make();
        command->declare(*sub);
        entries.push_back({&info, sub, std::move(command)});
    }

    // CLI11 would call an unknown command an unexpected argument: name it.
    if (argc > 1 && argv[1][0] != '-') {
        bool known = false;
        for (const CommandInfo& info : commands())
            known |= info.name == argv[1];
        if (!known) {
            fmt::print(stderr, "self-e: unknown command '{}'\nRun 'self-e --help' for the commands.\n",
                       argv[1]);
            return kExitUsage;
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Prints help/version to stdout (exit 0) or the error to stderr.
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    }

    if (mode == DispatchMode::parse_only)
        return kExitOk;
    for (Entry& entry : entries) {
        if (!entry.app->parsed())
            continue;
        try {
            return entry.command->run();
        } catch (const UsageError& e) {
            fmt::print(stderr, "self-e {}: {}\nRun 'self-e {} --help' for more information.\n",
                       entry.info->name, e.what(), entry.info->name);
            return kExitUsage;
        } catch (const std::exception& e) {
            fmt::print(stderr, "self-e {}: {}\n", entry.info->name, e.what());
            return kExitFailed;
        }
    }
    return kExitUsage;  // unreachable: require_subcommand(1)
}

#ifndef SELF_E_NO_MAIN  // tests/fuzz/fuzz_cli.cpp brings libFuzzer's main
int main(int argc, char** argv) { return dispatch(argc, argv, DispatchMode::run); }
#endif
