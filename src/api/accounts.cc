#include "api/accounts.h"

#include "api/admin_audit.h"
#include "core/validation.h"

namespace telemeet::api {

namespace {

std::unexpected<Error> Invalid(std::string message, std::string field) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

Status Audit(store::Tx& tx, std::string_view actor, std::string_view kind, std::string_view action,
             std::string target, const nlohmann::json& detail) {
  return AuditAs(tx, actor, kind, action, std::move(target), detail);
}

}  // namespace

Status AuditAs(store::Tx& tx, std::string_view actor, std::string_view kind,
               std::string_view action, std::string target, const nlohmann::json& detail) {
  if (actor.empty()) return Ok();
  Principal who;
  who.actor = std::string(actor);
  return AuditAdminChange(tx, who, kind, action, std::move(target), detail);
}

Status RevokeApiKey(store::Store& store, int64_t id, std::string_view actor) {
  return store.Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.RevokeApiKey(id));
    return AuditAs(tx, actor, "api_key", "api_key.revoked", "api_key:" + std::to_string(id),
                   nlohmann::json::object());
  });
}

Status CheckPassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return Invalid(
        "password must have at least " + std::to_string(kMinPasswordLength) + " characters",
        "password");
  }
  if (password.size() > kMaxPasswordBytes) {  // sign-in refuses longer ones (auth.h)
    return Invalid("password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes",
                   "password");
  }
  return Ok();
}

Result<core::User> CreateUser(store::Store& store, const NewUser& in, std::string_view actor,
                              const crypto::PasswordLimits& limits,
                              const std::function<Status(store::Tx&, const core::User&)>& also) {
  TM_TRY(core::ValidateEmail(in.email, "email"));
  core::User u;
  u.email = in.email;
  u.name = in.name.value_or(in.email.substr(0, in.email.find('@')));
  u.role = TM_TRY(core::ParseRole(in.role, "role"));
  if (u.role == core::Role::kDoctor) {
    if (!in.doctor_id) return Invalid("a doctor user needs doctor_id", "doctor_id");
    u.doctor_id = *in.doctor_id;
  } else if (in.doctor_id) {
    return Invalid("an admin user has no doctor_id", "doctor_id");
  }
  TM_TRY(CheckPassword(in.password));
  u.password_hash = TM_TRY(crypto::HashPassword(in.password, limits));
  return store.Transact([&](store::Tx& tx) -> Result<core::User> {
    if (u.role == core::Role::kDoctor) {
      auto doctor = tx.GetDoctor(u.doctor_id);
      if (!doctor && doctor.error().code() == ErrorCode::kNotFound) {
        return Invalid("doctor_id " + std::to_string(u.doctor_id) + " names no doctor",
                       "doctor_id");
      }
      if (!doctor) return std::unexpected(doctor.error());
    }
    core::User created = TM_TRY(tx.CreateUser(u));
    TM_TRY(Audit(tx, actor, "user", "user.created", "user:" + std::to_string(created.id),
                 {{"email", created.email},
                  {"name", created.name},
                  {"role", core::Name(created.role)},
                  {"doctor_id", created.doctor_id ? nlohmann::json(created.doctor_id)
                                                  : nlohmann::json()}}));
    if (also) TM_TRY(also(tx, created));
    return created;
  });
}

Result<core::User> UpdateUser(store::Store& store, int64_t id, const UserChange& change,
                              std::string_view actor, const crypto::PasswordLimits& limits) {
  std::optional<std::string> hash;
  if (change.password) {
    TM_TRY(CheckPassword(*change.password));
    hash = TM_TRY(crypto::HashPassword(*change.password, limits));
  }
  return store.Transact([&](store::Tx& tx) -> Result<core::User> {
    core::User u = TM_TRY(tx.GetUser(id));
    if (change.name) u.name = *change.name;
    if (change.disabled) u.disabled = *change.disabled;
    if (hash) u.password_hash = *hash;
    core::User saved = TM_TRY(tx.UpdateUser(u));
    nlohmann::json changed = nlohmann::json::array(), detail = nlohmann::json::object();
    if (change.name) detail["name"] = u.name;
    if (change.disabled) detail["disabled"] = u.disabled;
    for (auto& [field, value] : detail.items()) changed.push_back(field);
    if (hash) changed.push_back("password");  // never its value
    detail["changed"] = std::move(changed);
    TM_TRY(Audit(tx, actor, "user", "user.updated", "user:" + std::to_string(id), detail));
    // A new password or a disabled account ends every open session.
    if (hash || u.disabled) TM_TRY(tx.DeleteUserSessions(id));
    return saved;
  });
}

Result<bool> HasActiveAdmin(store::Tx& tx) {
  store::PageRequest page{.limit = 1000};
  do {
    auto users = TM_TRY(tx.ListUsers(page));
    for (const core::User& u : users.items) {
      if (u.role == core::Role::kAdmin && !u.disabled) return true;
    }
    page.cursor = users.next_cursor;
  } while (!page.cursor.empty());
  return false;
}

Result<std::string> JoinScopes(const std::vector<std::string>& scopes) {
  std::string joined;
  for (const std::string& s : scopes) {
    if (s != "read" && s != "write") {
      return Invalid("scopes may hold \"read\" and \"write\", got \"" + s + "\"", "scopes");
    }
    if (joined.find(s) != std::string::npos) continue;
    if (!joined.empty()) joined += ' ';
    joined += s;
  }
  if (joined.empty()) return Invalid("scopes needs at least one scope", "scopes");
  return joined;
}

std::function<Status(store::Tx&, const core::ApiKey&)> ApiKeyCreatedAudit(std::string actor) {
  return [actor = std::move(actor)](store::Tx& tx, const core::ApiKey& k) {
    return Audit(tx, actor, "api_key", "api_key.created", "api_key:" + std::to_string(k.id),
                 {{"name", k.name}, {"scopes", Words(k.scopes)}, {"prefix", k.prefix}});
  };
}

}  // namespace telemeet::api
