// facilityctl: the staff console for facilityd. With a command it runs
// that command and exits with a status scripts can use; without one it
// opens an interactive console. See `facilityctl help`.

#include <iostream>
#include <string>
#include <vector>

#include "ctl/commands.hpp"
#include "ctl/console.hpp"
#include "ctl/runner.hpp"
#include "ctl/settings.hpp"

using namespace facilityd::ctl;

namespace {

// `facilityctl who --help`: the help of the command named before it.
int print_help(std::vector<std::string> words, terminal t) {
  size_t used = 0;
  if (!words.empty() && words[0] == "help") words.erase(words.begin());
  if (find_command(words, used)) words.resize(used);
  t.out << help_text(words);
  return exit_ok;
}

int run_command(std::vector<std::string> args, terminal t) {
  auto s = take_global_options(args, environment::current());
  if (s.help) return print_help(args, t);
  server_link link{s};
  if (args.empty()) return run_console(link);
  auto inv = parse_command(args);
  if (inv.what == invocation::kind::watch)
    return run_watch(inv, link, s.json, t);
  return run(inv, link, s.json, t);
}

}  // namespace

int main(int argc, char** argv) {
  terminal t{std::cout, std::cerr};
  try {
    return run_command({argv + 1, argv + argc}, t);
  } catch (const usage_error& e) {
    return report_usage(e, false, t);
  }
}
