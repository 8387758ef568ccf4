#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace facilityd::ctl {

/// A console line cut into words the way a shell would: white space
/// separates, '...' keeps everything literally, "..." keeps everything
/// but lets \" and \\ through, and a backslash outside quotes takes the
/// next character as it is.
struct split_line {
  std::vector<std::string> words;
  /// The line ends inside a word (no white space after the last one), so
  /// the last word is the one being typed.
  bool last_word_open = false;
  /// The line ends inside quotes; the quote character, else 0.
  char open_quote = 0;
};

/// Never fails: an unfinished quote or a trailing backslash is reported in
/// the result, for completion to work on half-typed lines.
split_line split_words(std::string_view line);

/// The words of a whole line; throws usage_error (ctl/settings.hpp) when a
/// quote is not closed.
std::vector<std::string> words_of(std::string_view line);

/// `word` as the console reads it back: quoted when it holds white space,
/// quotes or backslashes, else as it is.
std::string quote_word(std::string_view word);

}  // namespace facilityd::ctl
