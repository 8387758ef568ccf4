#include "ctl/settings.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace facilityd::ctl {

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string login_name() {
  if (const char* name = ::getlogin(); name && *name) return name;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name)
    return pw->pw_name;
  return "uid-" + std::to_string(::geteuid());
}

uint16_t parse_port(const std::string& text, const std::string& from) {
  unsigned value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
      value > 65535)
    throw usage_error(from + " must be a port number from 1 to 65535, not '" +
                      text + "'");
  return static_cast<uint16_t>(value);
}

bool is_connection_option(const std::string& name) {
  return name == "--host" || name == "--port" || name == "--token-file" ||
         name == "--user";
}

// Splits "--name=value" into its parts; a plain "--name" has no value.
std::pair<std::string, std::optional<std::string>> split_option(
    const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || arg.rfind("--", 0) != 0) return {arg, {}};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

// Takes the value of option `name` at args[i]: either after '=' or the
// next argument, which is erased too.
std::string take_value(std::vector<std::string>& args, size_t i,
                       const std::string& name,
                       const std::optional<std::string>& inline_value) {
  if (inline_value) return *inline_value;
  if (i + 1 >= args.size()) throw usage_error(name + " needs a value");
  auto value = args[i + 1];
  args.erase(args.begin() + static_cast<std::ptrdiff_t>(i) + 1);
  return value;
}

}  // namespace

std::string settings::endpoint() const {
  // An IPv6 address needs brackets to keep its colons apart from the port.
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

environment environment::current() {
  environment env;
  env.admin_host = env_or_empty("FACILITYD_ADMIN_HOST");
  env.admin_port = env_or_empty("FACILITYD_ADMIN_PORT");
  env.admin_token_file = env_or_empty("FACILITYD_ADMIN_TOKEN_FILE");
  env.user = env_or_empty("USER");
  if (env.user.empty()) env.user = login_name();
  return env;
}

settings take_global_options(std::vector<std::string>& args,
                             const environment& env) {
  settings s;
  if (!env.admin_host.empty()) s.host = env.admin_host;
  if (!env.admin_port.empty())
    s.port = parse_port(env.admin_port, "FACILITYD_ADMIN_PORT");
  if (!env.admin_token_file.empty()) {
    s.token_file = env.admin_token_file;
    s.token_file_source = "FACILITYD_ADMIN_TOKEN_FILE";
  }
  s.user = env.user;

  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--") break;
    auto [name, inline_value] = split_option(args[i]);
    if (name == "--host") {
      s.host = take_value(args, i, name, inline_value);
      if (s.host.empty()) throw usage_error("--host needs a value");
    } else if (name == "--port") {
      s.port = parse_port(take_value(args, i, name, inline_value), "--port");
    } else if (name == "--token-file") {
      s.token_file = take_value(args, i, name, inline_value);
      s.token_file_source = "--token-file";
    } else if (name == "--user") {
      s.user = take_value(args, i, name, inline_value);
      if (s.user.empty()) throw usage_error("--user needs a value");
    } else if (name == "--json" && !inline_value) {
      s.json = true;
    } else if ((name == "--help" || name == "-h") && !inline_value) {
      s.help = true;
    } else {
      ++i;
      continue;
    }
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return s;
}

void take_line_options(std::vector<std::string>& args, settings& s) {
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--") break;
    auto [name, inline_value] = split_option(args[i]);
    if (is_connection_option(name))
      throw usage_error(name +
                        " cannot change within the console; start"
                        " facilityctl again with it");
    if (name == "--json" && !inline_value) {
      s.json = true;
    } else if ((name == "--help" || name == "-h") && !inline_value) {
      s.help = true;
    } else {
      ++i;
      continue;
    }
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

std::string read_token(const settings& s) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto where = fs::absolute(s.token_file, ec);
  std::string shown = ec ? s.token_file : where.string();
  std::string origin = s.token_file_source == "the default"
                           ? "the default, var/admin-token in the current"
                             " directory"
                           : s.token_file_source;

  std::ifstream in{s.token_file};
  if (!in) {
    int err = errno;
    if (err == ENOENT)
      throw connection_error(
          "no admin token file at " + shown + " (from " + origin +
          "). Run facilityctl in the folder facilityd runs in, or name the"
          " file with --token-file or FACILITYD_ADMIN_TOKEN_FILE");
    throw connection_error("cannot read the admin token file " + shown + ": " +
                           std::strerror(err));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto token = text.str();
  auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw connection_error("the admin token file " + shown + " is empty");
  auto last = token.find_last_not_of(" \t\r\n");
  return token.substr(first, last - first + 1);
}

}  // namespace facilityd::ctl
