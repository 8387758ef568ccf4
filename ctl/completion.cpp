#include "ctl/completion.hpp"

#include <algorithm>

#include "ctl/commands.hpp"
#include "ctl/words.hpp"

namespace facilityd::ctl {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

const option_spec* find_option(const command_spec& spec,
                               std::string_view name) {
  for (const auto& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

// The words that fit after `words` (the complete words before the one
// being typed), before filtering by what is typed.
std::vector<std::string> candidates(const std::vector<std::string>& words,
                                    std::string_view partial,
                                    const std::vector<std::string>& names) {
  if (words.empty()) {
    auto all = command_words();
    all.push_back("quit");
    all.push_back("exit");
    return all;
  }
  if (words.size() == 1 && !subcommand_words(words[0]).empty())
    return subcommand_words(words[0]);
  if (words[0] == "help") {
    if (words.size() == 1) return command_words();
    return words.size() == 2 ? subcommand_words(words[1])
                             : std::vector<std::string>{};
  }

  size_t used = 0;
  const auto* spec = find_command(words, used);
  if (!spec) return {};
  if (starts_with(partial, "-")) {
    std::vector<std::string> out;
    for (const auto& o : spec->options)
      out.emplace_back(o.name);
    return out;
  }

  // Counts the positional arguments already typed, stepping over options
  // and their values.
  size_t position = 0;
  for (size_t i = used; i < words.size(); ++i) {
    if (const auto* o = find_option(*spec, words[i])) {
      if (o->takes_value) {
        if (i + 1 == words.size()) return {};  // the option's value
        ++i;
      }
      continue;
    }
    ++position;
  }
  const auto& takes = spec->facility_args;
  if (std::find(takes.begin(), takes.end(), position) == takes.end()) return {};

  if (spec->name != "history") return names;
  // history: names bare or after facility:, and the prefixes themselves.
  std::vector<std::string> out;
  if (starts_with(partial, "facility:")) {
    for (const auto& n : names)
      out.push_back("facility:" + n);
    return out;
  }
  out = names;
  for (const char* prefix : {"facility:", "participant:", "badge:"})
    out.emplace_back(prefix);
  return out;
}

std::string common_prefix(const std::vector<std::string>& words) {
  std::string prefix = words.front();
  for (const auto& w : words) {
    size_t n = 0;
    while (n < prefix.size() && n < w.size() && prefix[n] == w[n])
      ++n;
    prefix.resize(n);
  }
  return prefix;
}

// Where the word being typed starts in `line`: after the last white space
// outside quotes.
size_t word_start(std::string_view line) {
  size_t start = 0;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\\') {
      ++i;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ' ' || c == '\t') {
      start = i + 1;
    }
  }
  return std::min(start, line.size());
}

}  // namespace

completion complete(std::string_view before_cursor,
                    const std::vector<std::string>& facilities) {
  auto split = split_words(before_cursor);
  std::string partial;
  if (split.last_word_open) {
    partial = split.words.back();
    split.words.pop_back();
  }

  std::vector<std::string> fits;
  for (auto& c : candidates(split.words, partial, facilities))
    if (starts_with(c, partial) &&
        std::find(fits.begin(), fits.end(), c) == fits.end())
      fits.push_back(std::move(c));
  std::sort(fits.begin(), fits.end());

  completion out;
  if (fits.empty()) return out;
  // The typed word is replaced whole, so that a name needing quotes gets
  // them around all of it.
  auto typed = before_cursor.size() - word_start(before_cursor);
  if (fits.size() == 1) {
    out.erase = typed;
    out.insert = quote_word(fits[0]);
    // "facility:" and the like go on with more of the same word.
    if (fits[0].back() != ':') out.insert += ' ';
    return out;
  }
  auto prefix = common_prefix(fits);
  if (prefix.size() > partial.size() && quote_word(prefix) == prefix) {
    out.erase = typed;
    out.insert = prefix;
    return out;
  }
  out.choices = std::move(fits);
  return out;
}

}  // namespace facilityd::ctl
