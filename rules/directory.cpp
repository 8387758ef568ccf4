#include "rules/directory.hpp"

#include <algorithm>

namespace facilityd {

void directory::add_participant(participant p) {
  auto id = p.id;
  participants_.insert_or_assign(id, std::move(p));
}

void directory::add_badge(std::string uid, participant_id owner) {
  badges_.insert_or_assign(std::move(uid), owner);
}

void directory::add_reader(std::string reader, facility_id where,
                           std::string gateway) {
  readers_.insert_or_assign(std::move(reader),
                            reader_entry{where, std::move(gateway)});
}

void directory::remove_participant(participant_id id) {
  participants_.erase(id);
  std::erase_if(badges_, [id](const auto& kv) { return kv.second == id; });
}

void directory::remove_badge(std::string_view uid) {
  if (auto i = badges_.find(uid); i != badges_.end()) badges_.erase(i);
}

void directory::remove_reader(std::string_view reader) {
  if (auto i = readers_.find(reader); i != readers_.end()) readers_.erase(i);
}

std::vector<std::string> directory::badges_of(participant_id id) const {
  std::vector<std::string> out;
  for (const auto& [uid, owner] : badges_)
    if (owner == id) out.push_back(uid);
  std::sort(out.begin(), out.end());
  return out;
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
  return i->second.facility;
}

std::optional<facility_id> directory::facility_for(
    std::string_view reader, std::string_view gateway) const {
  auto i = readers_.find(reader);
  if (i == readers_.end() || i->second.gateway.empty() ||
      i->second.gateway != gateway)
    return std::nullopt;
  return i->second.facility;
}

std::vector<reader_wiring> directory::readers() const {
  std::vector<reader_wiring> out;
  out.reserve(readers_.size());
  for (const auto& [name, r] : readers_)
    out.push_back({name, r.facility, r.gateway});
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.reader < b.reader; });
  return out;
}

size_t directory::unassigned_readers() const {
  return static_cast<size_t>(
      std::count_if(readers_.begin(), readers_.end(),
                    [](const auto& kv) { return kv.second.gateway.empty(); }));
}

}  // namespace facilityd
