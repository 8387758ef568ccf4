#pragma once

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "persistence/pg.hpp"
#include "persistence/store.hpp"

namespace facilityd {

/// What staff change in the directory (people, badges, readers, gateways)
/// and read from the audit log. Each change is one transaction that also
/// writes its admin_audit row, and returns the changed thing as JSON (the
/// admin protocol's shapes, docs/admin-protocol.md). Blocks; one thread at
/// a time. Failures: errc::not_found, errc::rejected (the change
/// contradicts the data, such as a badge already assigned), errc::invalid,
/// errc::unavailable, errc::internal.
class admin_store {
 public:
  explicit admin_store(pg_store_options opts);

  using json = nlohmann::json;

  caf::expected<json> participant(participant_id id);

  /// Sets the keyholder role and/or the suspension of a participant.
  caf::expected<json> set_participant(participant_id id,
                                      std::optional<bool> keyholder,
                                      std::optional<bool> suspended,
                                      const audit_entry& why);

  caf::expected<json> add_participant(const std::string& name, bool keyholder,
                                      bool suspended,
                                      const std::optional<std::string>& badge,
                                      const audit_entry& why);
  caf::expected<json> rename_participant(participant_id id,
                                         const std::string& name,
                                         const audit_entry& why);
  /// Marks the participant removed and deletes their badges.
  caf::expected<json> remove_participant(participant_id id,
                                         const audit_entry& why);

  caf::expected<json> add_badge(const std::string& uid, participant_id owner,
                                const audit_entry& why);
  caf::expected<json> remove_badge(const std::string& uid,
                                   const audit_entry& why);

  /// Adds a facility: `{"id", "name", "capacity"}`.
  caf::expected<json> add_facility(const std::string& name,
                                   std::optional<int32_t> capacity,
                                   const audit_entry& why);

  /// Adds a reader (`must_exist` false: both `where` and `gateway` given)
  /// or changes an existing one's facility and/or gateway. The gateway
  /// must exist. Returns {reader, facility, gateway} as they now are.
  caf::expected<json> put_reader(const std::string& reader,
                                 std::optional<facility_id> where,
                                 std::optional<std::string> gateway,
                                 bool must_exist, const audit_entry& why);
  caf::expected<json> remove_reader(const std::string& reader,
                                    const audit_entry& why);

  /// Adds a gateway, or gives an existing one a new token hash.
  caf::expected<json> put_gateway(const std::string& id,
                                  const std::string& token_hash,
                                  bool must_exist, const audit_entry& why);
  /// Refused while readers are wired to the gateway.
  caf::expected<json> remove_gateway(const std::string& id,
                                     const audit_entry& why);

  /// Adds every row or none: rows that cannot be imported are listed with
  /// the reason in the error's message as JSON.
  caf::expected<json> import_participants(const json& rows,
                                          const audit_entry& why);

  /// Scans newest first. `kind` is facility, participant or badge.
  caf::expected<json> history(const std::string& kind, const std::string& key,
                              const std::optional<std::string>& since,
                              int limit);

  /// Whether the database answers a trivial query.
  bool reachable();

 private:
  caf::expected<pg_connection*> connection();
  caf::error failed(caf::error e);

  /// Runs `body` inside BEGIN/COMMIT; rolls back when it fails.
  template <class F>
  caf::expected<json> in_transaction(F&& body);

  caf::error audit(pg_connection& c, const audit_entry& why, const json& before,
                   const json& after);

  pg_store_options opts_;
  std::optional<pg_connection> conn_;
};

}  // namespace facilityd
