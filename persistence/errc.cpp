#include "persistence/errc.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace facilityd {

std::string_view to_string(errc x) {
  switch (x) {
    case errc::unavailable:
      return "unavailable";
    case errc::outcome_unknown:
      return "outcome_unknown";
    case errc::conflict:
      return "conflict";
    case errc::rejected:
      return "rejected";
    case errc::busy:
      return "busy";
    case errc::shutting_down:
      return "shutting_down";
    case errc::internal:
      return "internal";
    case errc::not_found:
      return "not_found";
    case errc::invalid:
      return "invalid";
  }
  return "internal";
}

caf::error make_error(errc x) {
  return {static_cast<uint8_t>(x), errc_category};
}

caf::error make_error(errc x, std::string what) {
  return {static_cast<uint8_t>(x), errc_category,
          caf::make_message(std::move(what))};
}

errc errc_of(const caf::error& e) {
  if (e.category() != errc_category) return errc::internal;
  auto code = e.code();
  if (code < static_cast<uint8_t>(errc::unavailable) ||
      code > static_cast<uint8_t>(errc::invalid))
    return errc::internal;
  return static_cast<errc>(code);
}

std::string describe(const caf::error& e) {
  if (!e) return "no error";
  std::string out;
  if (e.category() == errc_category)
    out = to_string(errc_of(e));
  else if (e.category() == caf::atom("system"))
    out = caf::to_string(static_cast<caf::sec>(e.code()));
  else
    out = caf::to_string(e);
  const auto& ctx = e.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    out += ": " + ctx.get_as<std::string>(0);
  return out;
}

}  // namespace facilityd
