#include "ctl/words.hpp"

#include "ctl/settings.hpp"

namespace facilityd::ctl {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

split_line split_words(std::string_view line) {
  split_line out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
    } else if (quote == '"') {
      if (c == '"')
        quote = 0;
      else if (c == '\\' && i + 1 < line.size() &&
               (line[i + 1] == '"' || line[i + 1] == '\\'))
        word += line[++i];
      else
        word += c;
    } else if (is_space(c)) {
      if (in_word) out.words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      in_word = true;
      if (c == '\'' || c == '"')
        quote = c;
      else if (c == '\\' && i + 1 < line.size())
        word += line[++i];
      else if (c != '\\')
        word += c;
    }
  }
  if (in_word) out.words.push_back(std::move(word));
  out.last_word_open = in_word;
  out.open_quote = quote;
  return out;
}

std::vector<std::string> words_of(std::string_view line) {
  auto split = split_words(line);
  if (split.open_quote)
    throw usage_error(std::string{"a "} +
                      (split.open_quote == '"' ? "double" : "single") +
                      " quote is not closed");
  return std::move(split.words);
}

std::string quote_word(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word)
    if (is_space(c) || c == '\'' || c == '"' || c == '\\') plain = false;
  if (plain) return std::string{word};
  std::string out = "\"";
  for (char c : word) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace facilityd::ctl
