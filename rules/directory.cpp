#include "rules/directory.hpp"

namespace facilityd {

void directory::add_participant(participant p) {
  auto id = p.id;
  participants_.insert_or_assign(id, std::move(p));
}

void directory::add_badge(std::string uid, participant_id owner) {
  badges_.insert_or_assign(std::move(uid), owner);
}

void directory::add_reader(std::string reader, facility_id where) {
  readers_.insert_or_assign(std::move(reader), where);
}

const participant* directory::find_by_badge(std::string_view uid) const {
  auto i = badges_.find(uid);
  return i == badges_.end() ? nullptr : find(i->second);
}

const participant* directory::find(participant_id id) const {
  auto i = participants_.find(id);
  return i == participants_.end() ? nullptr : &i->second;
}

std::optional<facility_id> directory::facility_of(
    std::string_view reader) const {
  auto i = readers_.find(reader);
  if (i == readers_.end()) return std::nullopt;
  return i->second;
}

}  // namespace facilityd
