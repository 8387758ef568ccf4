#include "ctl/commands.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "ctl/csv_import.hpp"
#include "ctl/settings.hpp"
#include "ctl/times.hpp"

namespace facilityd::ctl {

namespace {

using nlohmann::json;

// -- checking arguments ------------------------------------------------------

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// A number that reads as an id: digits without a leading zero. Badge uids
// such as 04112233 are digits too, but ids never start with 0.
bool looks_like_id(std::string_view s) {
  return all_digits(s) && s[0] != '0' && s.size() <= 18;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

int64_t to_int(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// A facility is named by its name or its numeric id; digits alone are
// taken as the id.
json facility_ref(const std::string& text) {
  if (looks_like_id(text)) return to_int(text);
  return text;
}

int64_t participant_ref(std::string text, const std::string& command) {
  if (starts_with(text, "#")) text.erase(0, 1);
  if (!looks_like_id(text))
    throw usage_error(
        "a participant is named by its numeric id, not '" + text + "'",
        command);
  return to_int(text);
}

void want_positional(const parsed_args& a, size_t min, size_t max,
                     const std::string& command) {
  if (a.positional.size() < min)
    throw usage_error("'" + command + "' needs more arguments", command);
  if (a.positional.size() > max)
    throw usage_error("too many arguments for '" + command +
                          "' (quote a name that has spaces)",
                      command);
}

std::string required_value(const parsed_args& a, const std::string& option,
                           const std::string& command) {
  auto it = a.values.find(option);
  if (it == a.values.end() || it->second.empty())
    throw usage_error("'" + command + "' needs " + option + " <text>", command);
  return it->second;
}

int64_t count_value(const std::string& text, const std::string& option,
                    int64_t min, int64_t max, const std::string& command) {
  if (!all_digits(text) || text.size() > 9 || to_int(text) < min ||
      to_int(text) > max)
    throw usage_error(option + " must be a whole number from " +
                          std::to_string(min) + " to " + std::to_string(max) +
                          ", not '" + text + "'",
                      command);
  return to_int(text);
}

// -- building requests -------------------------------------------------------

using builder = void (*)(const parsed_args&, invocation&);

void one(invocation& inv, std::string cmd, json args = json::object()) {
  inv.attempts.push_back({std::move(cmd), std::move(args)});
}

void build_status(const parsed_args& a, invocation& inv) {
  want_positional(a, 0, 0, inv.command);
  one(inv, inv.command);
}

void build_who(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  one(inv, "who", {{"facility", facility_ref(a.positional[0])}});
}

void build_where(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  const auto& what = a.positional[0];
  if (starts_with(what, "participant:")) {
    one(inv, "where",
        {{"participant", participant_ref(what.substr(12), inv.command)}});
  } else if (starts_with(what, "badge:")) {
    one(inv, "where", {{"badge", what.substr(6)}});
  } else if (looks_like_id(what)) {
    one(inv, "where", {{"participant", to_int(what)}});
    one(inv, "where", {{"badge", what}});
    inv.not_found_message = "no participant or badge '" + what + "'";
  } else {
    one(inv, "where", {{"badge", what}});
  }
}

// The history of a facility, participant or badge: a prefix says which;
// a bare word is tried as each in turn.
void build_history(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  json base = json::object();
  if (auto it = a.values.find("--since"); it != a.values.end()) {
    auto since = since_to_iso(it->second);
    if (!since)
      throw usage_error(
          "--since takes a time such as 2026-12-03T17:00:00Z,"
          " '2026-12-03 18:00' (local time) or 2h (ago), not '" +
              it->second + "'",
          inv.command);
    base["since"] = *since;
  }
  if (auto it = a.values.find("--limit"); it != a.values.end())
    base["limit"] = count_value(it->second, "--limit", 1, 1000, inv.command);

  auto with = [&](const char* key, json value) {
    auto args = base;
    args[key] = std::move(value);
    one(inv, "history", std::move(args));
  };
  const auto& what = a.positional[0];
  if (starts_with(what, "facility:")) {
    with("facility", facility_ref(what.substr(9)));
  } else if (starts_with(what, "participant:")) {
    with("participant", participant_ref(what.substr(12), inv.command));
  } else if (starts_with(what, "badge:")) {
    with("badge", what.substr(6));
  } else {
    with("facility", what);
    inv.facility_probe = what;
    if (looks_like_id(what)) with("participant", to_int(what));
    with("badge", what);
    inv.not_found_message =
        looks_like_id(what) ? "no facility, participant or badge '" + what + "'"
                            : "no facility or badge '" + what + "'";
  }
}

void build_watch(const parsed_args& a, invocation& inv) {
  want_positional(a, 0, 1, inv.command);
  inv.what = invocation::kind::watch;
  json args = json::object();
  if (!a.positional.empty()) args["facility"] = facility_ref(a.positional[0]);
  one(inv, "watch", std::move(args));
}

void build_close(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  one(inv, "close",
      {{"facility", facility_ref(a.positional[0])},
       {"reason", required_value(a, "--reason", inv.command)}});
}

void build_checkout(const parsed_args& a, invocation& inv) {
  want_positional(a, 2, 2, inv.command);
  one(inv, "checkout",
      {{"participant", participant_ref(a.positional[0], inv.command)},
       {"facility", facility_ref(a.positional[1])},
       {"reason", required_value(a, "--reason", inv.command)}});
}

void build_participant_add(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  if (a.positional[0].empty())
    throw usage_error("a participant needs a name", inv.command);
  json args = {{"name", a.positional[0]},
               {"keyholder", a.flags.count("--keyholder") > 0},
               {"suspended", a.flags.count("--suspended") > 0}};
  if (auto it = a.values.find("--badge"); it != a.values.end())
    args["badge"] = it->second;
  one(inv, "participant.add", std::move(args));
}

void build_participant_edit(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  one(inv, "participant.edit",
      {{"participant", participant_ref(a.positional[0], inv.command)},
       {"name", required_value(a, "--name", inv.command)}});
}

// participant suspend|resume|remove and keyholder grant|revoke: one
// participant, and the wire command is the name with a dot.
void build_participant_only(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  auto cmd = inv.command;
  std::replace(cmd.begin(), cmd.end(), ' ', '.');
  one(inv, cmd,
      {{"participant", participant_ref(a.positional[0], inv.command)}});
}

void build_badge_add(const parsed_args& a, invocation& inv) {
  want_positional(a, 2, 2, inv.command);
  one(inv, "badge.add",
      {{"participant", participant_ref(a.positional[0], inv.command)},
       {"badge", a.positional[1]}});
}

void build_badge_remove(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  one(inv, "badge.remove", {{"badge", a.positional[0]}});
}

json capacity_arg(const std::string& text, const std::string& command) {
  if (text == "none") return nullptr;
  return count_value(text, "--capacity", 0, 1000000, command);
}

void build_facility_add(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  if (a.positional[0].empty() || looks_like_id(a.positional[0]))
    throw usage_error(
        "a facility's name must not be empty or a plain"
        " number, which would read as an id",
        inv.command);
  json args = {{"name", a.positional[0]}};
  if (auto it = a.values.find("--capacity"); it != a.values.end())
    args["capacity"] = capacity_arg(it->second, inv.command);
  one(inv, "facility.add", std::move(args));
}

void build_facility_edit(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  json args = {{"facility", facility_ref(a.positional[0])}};
  if (auto it = a.values.find("--name"); it != a.values.end())
    args["name"] = it->second;
  if (auto it = a.values.find("--capacity"); it != a.values.end())
    args["capacity"] = capacity_arg(it->second, inv.command);
  if (args.size() == 1)
    throw usage_error("'facility edit' needs --name or --capacity",
                      inv.command);
  one(inv, "facility.edit", std::move(args));
}

void build_facility_remove(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  one(inv, "facility.remove", {{"facility", facility_ref(a.positional[0])}});
}

// reader add: a reader, its facility and its gateway.
void build_reader_add(const parsed_args& a, invocation& inv) {
  want_positional(a, 3, 3, inv.command);
  one(inv, "reader.add",
      {{"reader", a.positional[0]},
       {"facility", facility_ref(a.positional[1])},
       {"gateway", a.positional[2]}});
}

void build_reader_move(const parsed_args& a, invocation& inv) {
  want_positional(a, 2, 2, inv.command);
  one(inv, "reader.move",
      {{"reader", a.positional[0]},
       {"facility", facility_ref(a.positional[1])}});
}

void build_reader_assign(const parsed_args& a, invocation& inv) {
  want_positional(a, 2, 2, inv.command);
  one(inv, "reader.assign",
      {{"reader", a.positional[0]}, {"gateway", a.positional[1]}});
}

void build_reader_remove(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  one(inv, "reader.remove", {{"reader", a.positional[0]}});
}

// gateway add|remove|rotate-token: one gateway id.
void build_gateway(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  auto cmd = inv.command;
  std::replace(cmd.begin(), cmd.end(), ' ', '.');
  one(inv, cmd, {{"gateway", a.positional[0]}});
}

std::string read_file(const std::string& path, const std::string& command) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw usage_error("cannot read '" + path + "'", command);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void build_import(const parsed_args& a, invocation& inv) {
  want_positional(a, 1, 1, inv.command);
  const auto& path = a.positional[0];
  auto rows = parse_participants_csv(read_file(path, inv.command), path);
  inv.row_lines = std::move(rows.lines);
  inv.rejected = std::move(rows.rejected);
  one(inv, "import.participants", {{"rows", std::move(rows.rows)}});
}

void build_help(const parsed_args& a, invocation& inv) {
  inv.what = invocation::kind::help;
  help_text(a.positional);  // throws for an unknown topic
}

void build_quit(const parsed_args& a, invocation& inv) {
  want_positional(a, 0, 0, inv.command);
  inv.what = invocation::kind::quit;
}

// -- the table ---------------------------------------------------------------

struct entry {
  command_spec spec;
  builder build;
  bool changes = false;
};

const option_spec reason{"--reason", true};

const std::vector<entry>& entries() {
  static const std::vector<entry> all{
      {{"status",
        "",
        "the server's health: database, gateways, load",
        "",
        {},
        {}},
       build_status},
      {{"health",
        "",
        "whether facilityd reaches its database",
        "Exits with status 1 when it does not.",
        {},
        {}},
       build_status},
      {{"facilities",
        "",
        "every facility: open or closed, who is inside",
        "",
        {},
        {}},
       build_status},
      {{"who", "<facility>", "the people inside a facility", "", {}, {0}},
       build_who},
      {{"where",
        "<participant-id|badge>",
        "where a person is checked in",
        "A number without a leading zero is a participant id (then a badge\n"
        "uid, if there is no such participant); anything else is a badge.\n"
        "participant:ID or badge:UID says which.",
        {},
        {}},
       build_where},
      {{"history",
        "<facility|participant|badge> [--since T] [--limit N]",
        "recent scans, newest first",
        "Say what to look at with facility:NAME, participant:ID or\n"
        "badge:UID; a bare word is tried as a facility name, then (a number\n"
        "without a leading zero) as a participant id, then as a badge uid.\n"
        "--since takes 2026-12-03T17:00:00Z, '2026-12-03 18:00' (local\n"
        "time), 2026-12-03, or an age such as 90s, 15m, 2h, 7d. --limit is\n"
        "1 to 1000 (default 50).",
        {{"--since", true}, {"--limit", true}},
        {0}},
       build_history},
      {{"watch",
        "[<facility>]",
        "print scans as they happen, until Ctrl-C",
        "",
        {},
        {0}},
       build_watch},
      {{"close",
        "<facility> --reason <text>",
        "close a facility: end every visit in it",
        "",
        {reason},
        {0}},
       build_close,
       true},
      {{"checkout",
        "<participant> <facility> --reason <text>",
        "check a person out of a facility",
        "If they are the last keyholder inside, everyone else's visit ends\n"
        "too.",
        {reason},
        {1}},
       build_checkout,
       true},
      {{"participant add",
        "<name> [--keyholder] [--suspended] [--badge UID]",
        "add a person",
        "Quote a name with spaces: \"Ada Lovelace\".",
        {{"--keyholder", false}, {"--suspended", false}, {"--badge", true}},
        {}},
       build_participant_add,
       true},
      {{"participant edit",
        "<id> --name <name>",
        "rename a person",
        "",
        {{"--name", true}},
        {}},
       build_participant_edit,
       true},
      {{"participant suspend",
        "<id>",
        "bar a person from entering",
        "Their open visits end; a last keyholder's facility closes.",
        {},
        {}},
       build_participant_only,
       true},
      {{"participant resume",
        "<id>",
        "let a suspended person enter again",
        "",
        {},
        {}},
       build_participant_only,
       true},
      {{"participant remove",
        "<id>",
        "remove a person and their badges",
        "Their history stays.",
        {},
        {}},
       build_participant_only,
       true},
      {{"keyholder grant",
        "<participant>",
        "make a person a keyholder",
        "",
        {},
        {}},
       build_participant_only,
       true},
      {{"keyholder revoke",
        "<participant>",
        "take the keyholder role away",
        "A facility whose last keyholder this was closes.",
        {},
        {}},
       build_participant_only,
       true},
      {{"badge add",
        "<participant> <uid>",
        "give a person a badge",
        "",
        {},
        {}},
       build_badge_add,
       true},
      {{"badge remove", "<uid>", "take a badge out of use", "", {}, {}},
       build_badge_remove,
       true},
      {{"facility add",
        "<name> [--capacity N]",
        "add a facility",
        "Without --capacity there is no limit.",
        {{"--capacity", true}},
        {}},
       build_facility_add,
       true},
      {{"facility edit",
        "<facility> [--name N] [--capacity N|none]",
        "rename a facility or change its capacity",
        "",
        {{"--name", true}, {"--capacity", true}},
        {0}},
       build_facility_edit,
       true},
      {{"facility remove",
        "<facility>",
        "remove an empty facility",
        "Only when nobody is inside and no reader belongs to it.",
        {},
        {0}},
       build_facility_remove,
       true},
      {{"readers",
        "",
        "every door reader, its facility and gateway",
        "",
        {},
        {}},
       build_status},
      {{"reader add",
        "<reader> <facility> <gateway>",
        "add a door reader wired to a gateway",
        "Only scans that arrive through that gateway count at the reader.",
        {},
        {1}},
       build_reader_add,
       true},
      {{"reader move",
        "<reader> <facility>",
        "let a reader belong to another facility",
        "",
        {},
        {1}},
       build_reader_move,
       true},
      {{"reader assign",
        "<reader> <gateway>",
        "wire a reader to another gateway",
        "From then on only that gateway's scans count at the reader.",
        {},
        {}},
       build_reader_assign,
       true},
      {{"reader remove", "<reader>", "remove a door reader", "", {}, {}},
       build_reader_remove,
       true},
      {{"gateway add",
        "<id>",
        "register a gateway and show its token",
        "",
        {},
        {}},
       build_gateway,
       true},
      {{"gateway remove",
        "<id>",
        "remove a gateway; it is disconnected",
        "",
        {},
        {}},
       build_gateway,
       true},
      {{"gateway rotate-token",
        "<id>",
        "a new token for a gateway; the old one stops",
        "",
        {},
        {}},
       build_gateway,
       true},
      {{"import participants",
        "<file.csv>",
        "add many people at once",
        "The file is CSV with the header name,badge,keyholder,suspended\n"
        "(columns in any order; only name is required). keyholder and\n"
        "suspended are true/false, yes/no or 1/0; empty is false. Every row\n"
        "is imported, or none: the rows refused are listed with why.",
        {},
        {}},
       build_import,
       true},
      {{"verify",
        "",
        "compare facilities' memory with the database",
        "Exits with status 1 when it finds a difference.",
        {},
        {}},
       build_status},
      {{"help",
        "[<command>]",
        "this list, or more about one command",
        "",
        {},
        {}},
       build_help},
  };
  return all;
}

const entry* find_entry(const std::vector<std::string>& words, size_t& used) {
  for (const auto& e : entries()) {
    auto name = e.spec.name;
    auto space = name.find(' ');
    if (space == std::string_view::npos) {
      if (!words.empty() && words[0] == name) {
        used = 1;
        return &e;
      }
    } else if (words.size() >= 2 && words[0] == name.substr(0, space) &&
               words[1] == name.substr(space + 1)) {
      used = 2;
      return &e;
    }
  }
  return nullptr;
}

bool is_group(std::string_view word) {
  return !subcommand_words(word).empty();
}

const entry quit_entry{{"quit", "", "leave the console", "", {}, {}},
                       build_quit};

std::string padded(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string command_line(const command_spec& c) {
  std::string line{c.name};
  if (!c.synopsis.empty()) line += " " + std::string{c.synopsis};
  return line;
}

std::string overview() {
  std::string out =
      "usage: facilityctl [options] [<command> [<args>]]\n"
      "\n"
      "Without a command, facilityctl opens a console with history and TAB\n"
      "completion; quit or Ctrl-D leaves it.\n"
      "\n"
      "Commands:\n";
  for (const auto& e : entries()) {
    auto line = command_line(e.spec);
    if (line.size() > 30)
      out += "  " + line + "\n" + std::string(34, ' ');
    else
      out += "  " + padded(line, 32);
    out += std::string{e.spec.summary} + "\n";
  }
  out +=
      "\n"
      "A facility is named by its name or numeric id, a participant by\n"
      "numeric id (#7 works too), a badge by its uid. 'help <command>' says\n"
      "more about one command.\n"
      "\n"
      "Options:\n"
      "  --host HOST        the admin endpoint (default 127.0.0.1, or\n"
      "                     FACILITYD_ADMIN_HOST)\n"
      "  --port PORT        its port (default 7401, or FACILITYD_ADMIN_PORT)\n"
      "  --token-file FILE  the admin token (default\n"
      "                     FACILITYD_ADMIN_TOKEN_FILE, else var/admin-token\n"
      "                     in the current directory)\n"
      "  --user NAME        who you are in the audit trail (default $USER)\n"
      "  --json             print the server's result as JSON\n"
      "  -h, --help         this text\n"
      "\n"
      "Exit status: 0 done, 1 the server said no (or verify found a\n"
      "difference, or health an unreachable database), 2 the command line\n"
      "is wrong, 3 facilityd cannot be reached or refused the token.\n";
  return out;
}

std::string capitalized(std::string_view text) {
  std::string out{text};
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(out[0]));
  return out;
}

std::string one_command(const command_spec& c) {
  std::string out = "usage: facilityctl " + command_line(c) + "\n\n";
  out += capitalized(c.summary) + ".\n";
  if (!c.details.empty()) out += std::string{c.details} + "\n";
  return out;
}

}  // namespace

const std::vector<command_spec>& command_table() {
  static const std::vector<command_spec> table = [] {
    std::vector<command_spec> out;
    for (const auto& e : entries())
      out.push_back(e.spec);
    return out;
  }();
  return table;
}

const command_spec* find_command(const std::vector<std::string>& words,
                                 size_t& used) {
  auto e = find_entry(words, used);
  return e ? &e->spec : nullptr;
}

std::vector<std::string> command_words() {
  std::vector<std::string> out;
  for (const auto& e : entries()) {
    auto first = std::string{e.spec.name.substr(0, e.spec.name.find(' '))};
    if (std::find(out.begin(), out.end(), first) == out.end())
      out.push_back(first);
  }
  return out;
}

std::vector<std::string> subcommand_words(std::string_view group) {
  std::vector<std::string> out;
  for (const auto& e : entries()) {
    auto space = e.spec.name.find(' ');
    if (space != std::string_view::npos &&
        e.spec.name.substr(0, space) == group)
      out.emplace_back(e.spec.name.substr(space + 1));
  }
  return out;
}

parsed_args parse_args(const command_spec& spec,
                       const std::vector<std::string>& words) {
  parsed_args out;
  bool options_done = false;
  std::string name{spec.name};
  for (size_t i = 0; i < words.size(); ++i) {
    const auto& w = words[i];
    if (!options_done && w == "--") {
      options_done = true;
      continue;
    }
    if (options_done || !starts_with(w, "--")) {
      out.positional.push_back(w);
      continue;
    }
    auto eq = w.find('=');
    auto opt = w.substr(0, eq);
    auto it = std::find_if(spec.options.begin(), spec.options.end(),
                           [&](const option_spec& o) { return o.name == opt; });
    if (it == spec.options.end())
      throw usage_error("'" + name + "' has no option " + opt, name);
    if (!it->takes_value) {
      if (eq != std::string::npos)
        throw usage_error(opt + " takes no value", name);
      out.flags.insert(opt);
    } else if (eq != std::string::npos) {
      out.values[opt] = w.substr(eq + 1);
    } else if (i + 1 < words.size()) {
      out.values[opt] = words[++i];
    } else {
      throw usage_error(opt + " needs a value", name);
    }
  }
  return out;
}

invocation parse_command(const std::vector<std::string>& words, bool console) {
  if (words.empty()) throw usage_error("no command given");
  size_t used = 0;
  const entry* e = find_entry(words, used);
  if (!e && console && (words[0] == "quit" || words[0] == "exit")) {
    e = &quit_entry;
    used = 1;
  }
  if (!e && is_group(words[0])) {
    auto subs = subcommand_words(words[0]);
    std::string list;
    for (const auto& s : subs)
      list += (list.empty() ? "" : ", ") + s;
    throw usage_error("'" + words[0] + "' needs one of: " + list);
  }
  if (!e)
    throw usage_error("unknown command '" + words[0] + "' (try " +
                      (console ? "'help'" : "'facilityctl help'") + ")");

  invocation inv;
  inv.command = std::string{e->spec.name};
  inv.changes = e->changes;
  auto args = parse_args(
      e->spec,
      {words.begin() + static_cast<std::ptrdiff_t>(used), words.end()});
  inv.positional = args.positional;
  e->build(args, inv);
  return inv;
}

std::string help_text(const std::vector<std::string>& topic) {
  if (topic.empty()) return overview();
  size_t used = 0;
  if (auto e = find_entry(topic, used); e && used == topic.size())
    return one_command(e->spec);
  if (topic.size() == 1 && is_group(topic[0])) {
    std::string out;
    for (const auto& e : entries())
      if (starts_with(e.spec.name, topic[0] + " "))
        out += "  " + padded(command_line(e.spec), 0) + "\n      " +
               std::string{e.spec.summary} + "\n";
    return "usage:\n" + out;
  }
  std::string joined;
  for (const auto& w : topic)
    joined += (joined.empty() ? "" : " ") + w;
  throw usage_error("no command '" + joined + "' (try 'help')");
}

std::string usage_of(std::string_view command) {
  for (const auto& e : entries())
    if (e.spec.name == command)
      return "usage: facilityctl " + command_line(e.spec);
  return {};
}

}  // namespace facilityd::ctl
