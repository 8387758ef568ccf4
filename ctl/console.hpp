#pragma once

#include "ctl/runner.hpp"

namespace facilityd::ctl {

/// Runs commands typed at the console until quit, exit or end of input,
/// with line editing, history kept in ~/.facilityctl_history, and TAB
/// completion of commands and facility names (libedit). Reads stdin and
/// writes stdout and stderr; owns SIGINT while it runs (Ctrl-C abandons
/// the line being typed, or stops a watch). Returns exit_unreachable when
/// the server cannot be used at the start; otherwise exit_ok on a
/// terminal, and the last command's status when stdin is not one.
int run_console(server_link& s);

}  // namespace facilityd::ctl
