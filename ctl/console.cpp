#include "ctl/console.hpp"

#include <fcntl.h>
#include <histedit.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "ctl/completion.hpp"
#include "ctl/words.hpp"

namespace facilityd::ctl {

namespace {

volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_console_interrupt(int) {
  interrupted = 1;
}

std::string history_path() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::geteuid());
    home = pw ? pw->pw_dir : nullptr;
  }
  return home ? std::string{home} + "/.facilityctl_history" : "";
}

// Prints `words` in columns as wide as the longest, across 80 columns.
void print_choices(const std::vector<std::string>& words) {
  size_t width = 0;
  for (const auto& w : words)
    width = std::max(width, w.size());
  width += 2;
  size_t per_line = std::max<size_t>(1, 80 / width);
  std::string out = "\n";
  for (size_t i = 0; i < words.size(); ++i) {
    bool line_end = (i + 1) % per_line == 0 || i + 1 == words.size();
    out += words[i];
    if (line_end)
      out += "\n";
    else
      out.append(width - words[i].size(), ' ');
  }
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

// The console: libedit's line editor and history around one link to the
// server. Lives on the main thread; libedit calls back into it for
// completion.
class console {
 public:
  explicit console(server_link& s) : link_(s) {}
  ~console();

  int run();

 private:
  static const char* prompt(EditLine*) { return "facilityctl> "; }
  static unsigned char complete_key(EditLine* el, int);

  void set_up_editor();
  bool read_line(std::string& line);
  // Runs one line; false when it asks to leave.
  bool run_line(const std::string& line);
  int run_invocation(const invocation& inv, bool as_json);
  void remember(const std::string& line);
  std::string server_label() const;

  server_link& link_;
  EditLine* el_ = nullptr;
  History* history_ = nullptr;
  std::string history_file_;
  bool tty_ = false;
  std::vector<std::string> facilities_;
  int last_status_ = exit_ok;
  struct sigaction old_sigint_ {};
};

console::~console() {
  if (el_) ::el_end(el_);
  if (history_) ::history_end(history_);
  ::sigaction(SIGINT, &old_sigint_, nullptr);
}

int console::run() {
  tty_ = ::isatty(STDIN_FILENO) != 0;
  terminal t{std::cout, std::cerr};
  try {
    link_.client();
  } catch (const connection_error& e) {
    t.err << "facilityctl: " << e.what() << "\n";
    return exit_unreachable;
  }
  facilities_ = link_.facility_names();
  if (tty_) {
    t.out << "Connected to " << server_label() << " at "
          << link_.config().endpoint() << " as " << link_.config().user
          << ". Type help for the commands, quit to leave.\n";
    t.out.flush();
  }

  // Ctrl-C must not end the console, only the line or the watch.
  struct sigaction sa {};
  sa.sa_handler = on_console_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_sigint_);
  set_up_editor();

  std::string line;
  while (read_line(line))
    if (!run_line(line)) break;
  return tty_ ? exit_ok : last_status_;
}

// "facilityd 0.1.0", from what the server said at login.
std::string console::server_label() const {
  const auto& server = link_.server();
  std::string label = server.value("server", std::string{"facilityd"});
  auto version = server.value("version", std::string{});
  return version.empty() ? label : label + " " + version;
}

void console::set_up_editor() {
  HistEvent ev;
  history_ = ::history_init();
  ::history(history_, &ev, H_SETSIZE, 1000);
  ::history(history_, &ev, H_SETUNIQUE, 1);
  history_file_ = history_path();
  if (tty_ && !history_file_.empty()) {
    // What staff typed (names, reasons) is for their eyes only, as a
    // shell's history is.
    int fd =
        ::open(history_file_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
    ::history(history_, &ev, H_LOAD, history_file_.c_str());
  }

  el_ = ::el_init("facilityctl", stdin, stdout, stderr);
  ::el_set(el_, EL_EDITOR, "emacs");
  ::el_set(el_, EL_HIST, ::history, history_);
  ::el_set(el_, EL_PROMPT, &console::prompt);
  ::el_set(el_, EL_SIGNAL, 1);
  ::el_set(el_, EL_CLIENTDATA, this);
  ::el_set(el_, EL_ADDFN, "facilityctl-complete",
           "complete a command or facility name", &console::complete_key);
  ::el_set(el_, EL_BIND, "^I", "facilityctl-complete", nullptr);
  // The user's ~/.editrc, as every libedit program reads it.
  ::el_source(el_, nullptr);
}

unsigned char console::complete_key(EditLine* el, int) {
  void* data = nullptr;
  ::el_get(el, EL_CLIENTDATA, &data);
  auto* self = static_cast<console*>(data);
  const LineInfo* li = ::el_line(el);
  std::string_view before{li->buffer,
                          static_cast<size_t>(li->cursor - li->buffer)};
  auto c = complete(before, self->facilities_);
  if (!c.choices.empty()) {
    print_choices(c.choices);
    return CC_REDISPLAY;
  }
  if (c.insert.empty()) return CC_REFRESH_BEEP;
  ::el_deletestr(el, static_cast<int>(c.erase));
  ::el_insertstr(el, c.insert.c_str());
  return CC_REFRESH;
}

// Reads the next line; false at the end of input. Ctrl-C while typing
// drops the line and asks again.
bool console::read_line(std::string& line) {
  for (;;) {
    interrupted = 0;
    int count = 0;
    const char* text = ::el_gets(el_, &count);
    if (text && count > 0) {
      line.assign(text, static_cast<size_t>(count));
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
      return true;
    }
    if (!interrupted) {
      if (tty_) std::fputs("\n", stdout);
      return false;
    }
    std::fputs("\n", stdout);
    ::el_reset(el_);
  }
}

void console::remember(const std::string& line) {
  HistEvent ev;
  ::history(history_, &ev, H_ENTER, line.c_str());
  // Saved after every line, so that a console killed keeps its history.
  if (tty_ && !history_file_.empty())
    ::history(history_, &ev, H_SAVE, history_file_.c_str());
}

bool console::run_line(const std::string& line) {
  if (line.find_first_not_of(" \t") == std::string::npos) return true;
  remember(line);
  terminal t{std::cout, std::cerr};
  try {
    auto words = words_of(line);
    // --json given at the start holds for every line.
    settings line_settings = link_.config();
    line_settings.help = false;
    take_line_options(words, line_settings);
    if (line_settings.help) {
      size_t used = 0;
      find_command(words, used);
      words.resize(used);
      words.insert(words.begin(), "help");
    }
    auto inv = parse_command(words, true);
    if (inv.what == invocation::kind::quit) return false;
    last_status_ = run_invocation(inv, line_settings.json);
  } catch (const usage_error& e) {
    last_status_ = report_usage(e, true, t);
  }
  std::cout.flush();
  return true;
}

int console::run_invocation(const invocation& inv, bool as_json) {
  terminal t{std::cout, std::cerr};
  if (inv.what == invocation::kind::watch)
    return run_watch(inv, link_, as_json, t);
  int status = ctl::run(inv, link_, as_json, t);
  if (inv.changes && status == exit_ok) facilities_ = link_.facility_names();
  return status;
}

}  // namespace

int run_console(server_link& s) {
  console c{s};
  return c.run();
}

}  // namespace facilityd::ctl
