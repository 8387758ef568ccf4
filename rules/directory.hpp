#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace facilityd {

using participant_id = int64_t;
using facility_id = int64_t;
using visit_id = int64_t;

/// Where a reader is and which gateway it is wired to (empty: none).
struct reader_wiring {
  std::string reader;
  facility_id facility = 0;
  std::string gateway;
};

struct participant {
  participant_id id = 0;
  std::string name;
  bool keyholder = false;
  bool suspended = false;
};

/// Who may scan where: participants, their badges, and for each reader
/// the facility it opens and the gateway it is wired to. A value type: the
/// server builds one at start-up and hands read-only copies to the actors that
/// need it.
class directory {
 public:
  void add_participant(participant p);

  /// Assigns badge `uid` to participant `owner`, replacing an earlier owner.
  void add_badge(std::string uid, participant_id owner);

  /// Adds or replaces reader `reader`, in facility `where`, wired to
  /// gateway `gateway` (empty: to none yet, so no scan there counts).
  void add_reader(std::string reader, facility_id where, std::string gateway);

  /// Removes a participant and every badge of theirs.
  void remove_participant(participant_id id);
  void remove_badge(std::string_view uid);
  void remove_reader(std::string_view reader);

  /// The badges of `id`, sorted.
  std::vector<std::string> badges_of(participant_id id) const;

  /// Returns the owner of badge `uid`, or null for an unknown badge.
  const participant* find_by_badge(std::string_view uid) const;

  const participant* find(participant_id id) const;

  std::optional<facility_id> facility_of(std::string_view reader) const;

  /// The facility of `reader` when it is wired to `gateway`; null for an
  /// unknown reader and for another gateway's reader alike.
  std::optional<facility_id> facility_for(std::string_view reader,
                                          std::string_view gateway) const;

  /// Readers wired to no gateway: nobody can scan at them.
  size_t unassigned_readers() const;

  /// Every reader, sorted by name.
  std::vector<reader_wiring> readers() const;

  size_t participant_count() const { return participants_.size(); }

 private:
  // Transparent hashing lets string_view look-ups skip building a string.
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using string_map =
      std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

  std::unordered_map<participant_id, participant> participants_;
  string_map<participant_id> badges_;
  struct reader_entry {
    facility_id facility = 0;
    std::string gateway;
  };
  string_map<reader_entry> readers_;
};

}  // namespace facilityd
