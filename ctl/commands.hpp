#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace facilityd::ctl {

/// One request to the admin endpoint: a wire command and its arguments.
struct request {
  std::string cmd;
  nlohmann::json args = nlohmann::json::object();
};

/// A row of an import file that the console rejects before sending.
struct rejected_row {
  size_t line = 0;  // in the file, the header being line 1
  std::string reason;
};

/// A command line, parsed and checked, ready to run.
struct invocation {
  enum class kind { remote, watch, help, quit };

  kind what = kind::remote;
  /// The command's name in the table: "who", "participant add", ...
  std::string command;
  /// Tried in order while the server answers not_found; the first other
  /// answer is the result. One request for most commands.
  std::vector<request> attempts;
  /// Said instead of the server's message when every one of several
  /// attempts was not_found.
  std::string not_found_message;
  /// When set, the first attempt is made only if a facility has this
  /// name (asked with `facilities`): a bare word given to history.
  std::string facility_probe;
  /// The arguments as typed, for sentences about the result (for help:
  /// the topic).
  std::vector<std::string> positional;
  /// Reload the facility names for completion after success.
  bool changes = false;
  /// import: the file's line of each row sent, and rows refused here.
  std::vector<size_t> row_lines;
  std::vector<rejected_row> rejected;
};

struct option_spec {
  std::string_view name;  // "--since"
  bool takes_value = false;
};

/// A command of the console: its syntax, help and where its facility
/// names stand (for completion).
struct command_spec {
  std::string_view name;      // "who", "participant add"
  std::string_view synopsis;  // what follows the name
  std::string_view summary;   // one line
  std::string_view details;   // more lines for help <name>, may be empty
  std::vector<option_spec> options;
  /// Positions (0-based, after the name) that take a facility.
  std::vector<size_t> facility_args;
};

/// Every command, in the order help lists them.
const std::vector<command_spec>& command_table();

/// The command that `words` start with (one or two words), or nullptr.
/// `used` is set to how many words its name takes.
const command_spec* find_command(const std::vector<std::string>& words,
                                 size_t& used);

/// The first words of all commands ("status", "participant", ...).
std::vector<std::string> command_words();

/// The second words under `group` ("add", "edit", ... for "participant");
/// empty for a command of one word.
std::vector<std::string> subcommand_words(std::string_view group);

/// Positional arguments and options after a command's name.
struct parsed_args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // option -> value
  std::set<std::string> flags;
};

/// Sorts `words` into positional arguments and `spec`'s options ("--x v",
/// "--x=v", flags; "--" ends options). Throws usage_error.
parsed_args parse_args(const command_spec& spec,
                       const std::vector<std::string>& words);

/// Parses a command line without global options (ctl/settings.hpp).
/// Reads the file of an import. `console` allows quit and exit. Throws
/// usage_error.
invocation parse_command(const std::vector<std::string>& words,
                         bool console = false);

/// The help for `topic`: a command ("who", "participant add"), a group
/// ("participant") or, when empty, everything. Throws usage_error for an
/// unknown topic.
std::string help_text(const std::vector<std::string>& topic);

/// The usage line of `command`, or empty if there is no such command.
std::string usage_of(std::string_view command);

}  // namespace facilityd::ctl
