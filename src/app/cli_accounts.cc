// `telemeet users create|list|set-password|disable` and `telemeet api-keys create|list|revoke`.
#include <iostream>

#include "api/accounts.h"
#include "api/api.h"
#include "api/views.h"
#include "app/cli.h"
#include "core/time.h"

namespace telemeet::app {

namespace {

using nlohmann::json;

std::string Dash(std::string_view s) { return s.empty() ? "-" : std::string(s); }

std::string When(const std::optional<Instant>& t) {
  return t ? core::FormatRfc3339(*t) : std::string("-");
}

Result<core::User> UserByEmail(store::Store& store, const std::string& email) {
  auto user = store.Read([&](store::Tx& tx) { return tx.GetUserByEmail(email); });
  if (!user && user.error().code() == ErrorCode::kNotFound) {
    return Fail(ErrorCode::kNotFound,
                "no user has the email " + email + " (`telemeet users list` shows them)", "email");
  }
  return user;
}

struct UserArgs {
  std::string email, role, name;
  int64_t doctor_id = 0;
  bool generate = false;
  bool json = false;
};

int CreateUser(const Config& config, const UserArgs& a) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  api::NewUser u;
  u.email = a.email;
  if (!a.name.empty()) u.name = a.name;
  u.role = a.role;
  if (a.doctor_id != 0) u.doctor_id = a.doctor_id;
  if (a.generate) {
    u.password = GeneratePassword();
  } else {
    auto password = ReadPassword("password for " + a.email);
    if (!password) return CliFailed(password.error());
    u.password = std::move(*password);
  }
  auto user = api::CreateUser(**db, u, "cli");
  if (!user) {
    if (user.error().code() == ErrorCode::kAlreadyExists) {
      return CliFailed("a user with the email " + a.email +
                       " exists already (`telemeet users set-password --email " + a.email +
                       "` sets a new password)");
    }
    return CliFailed(user.error());
  }
  AuditCli("user.created", {{"user_id", user->id},
                            {"email", user->email},
                            {"role", core::Name(user->role)},
                            {"doctor_id", user->doctor_id}});
  if (a.json) {
    json out = api::UserJson(*user);
    if (a.generate) out["password"] = u.password;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "created " << core::Name(user->role) << " " << user->email << " (user " << user->id
            << ")\n";
  if (a.generate) {
    std::cout << "password (shown once): " << u.password << "\n";
  }
  return 0;
}

int ListUsers(const Config& config, bool as_json) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto users = ListAll<core::User>(
      **db, [](store::Tx& tx, const store::PageRequest& p) { return tx.ListUsers(p); });
  if (!users) return CliFailed(users.error());
  if (as_json) {
    json out = json::array();
    for (const auto& u : *users) out.push_back(api::UserJson(u));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Table t({"ID", "EMAIL", "NAME", "ROLE", "DOCTOR", "STATE", "CREATED"});
  for (const auto& u : *users) {
    t.Row({std::to_string(u.id), u.email, u.name, std::string(core::Name(u.role)),
           u.doctor_id != 0 ? std::to_string(u.doctor_id) : "-", u.disabled ? "disabled" : "active",
           core::FormatRfc3339(u.created_at)});
  }
  t.Print(std::cout);
  if (t.size() == 0) {
    std::cout << "(no users: `telemeet users create --email E --role admin` makes the first)\n";
  }
  return 0;
}

int SetPassword(const Config& config, const std::string& email, bool generate) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto user = UserByEmail(**db, email);
  if (!user) return CliFailed(user.error());
  std::string password;
  if (generate) {
    password = GeneratePassword();
  } else {
    auto read = ReadPassword("new password for " + email);
    if (!read) return CliFailed(read.error());
    password = std::move(*read);
  }
  api::UserChange change;
  change.password = password;
  auto saved = api::UpdateUser(**db, user->id, change, "cli");
  if (!saved) return CliFailed(saved.error());
  AuditCli("user.password_set", {{"user_id", saved->id}, {"email", saved->email}});
  std::cout << "new password set for " << saved->email << "; their open sessions ended\n";
  if (generate) std::cout << "password (shown once): " << password << "\n";
  return 0;
}

int Disable(const Config& config, const std::string& email, bool enable) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto user = UserByEmail(**db, email);
  if (!user) return CliFailed(user.error());
  api::UserChange change;
  change.disabled = !enable;
  auto saved = api::UpdateUser(**db, user->id, change, "cli");
  if (!saved) return CliFailed(saved.error());
  AuditCli(enable ? "user.enabled" : "user.disabled",
           {{"user_id", saved->id}, {"email", saved->email}});
  std::cout << (enable ? "enabled " : "disabled ") << saved->email
            << (enable ? "\n" : "; their open sessions ended\n");
  return 0;
}

int CreateKey(const Config& config, const std::string& name, const std::string& scopes,
              bool as_json) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto key = api::CreateApiKey(**db, name, scopes, api::ApiKeyCreatedAudit("cli"));
  if (!key) return CliFailed(key.error());
  AuditCli("api_key.created",
           {{"api_key_id", key->key.id}, {"name", key->key.name}, {"scopes", key->key.scopes}});
  if (as_json) {
    json out = api::ApiKeyJson(key->key);
    out["secret"] = key->secret;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "created API key " << key->key.id << " \"" << key->key.name << "\" ("
            << key->key.scopes << ")\n"
            << "secret (shown once; send it as \"Authorization: Bearer <secret>\"):\n"
            << key->secret << "\n";
  return 0;
}

int ListKeys(const Config& config, bool as_json) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto keys = ListAll<core::ApiKey>(
      **db, [](store::Tx& tx, const store::PageRequest& p) { return tx.ListApiKeys(p); });
  if (!keys) return CliFailed(keys.error());
  if (as_json) {
    json out = json::array();
    for (const auto& k : *keys) out.push_back(api::ApiKeyJson(k));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Table t({"ID", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED"});
  for (const auto& k : *keys) {
    t.Row({std::to_string(k.id), Dash(k.name), "tm_" + k.prefix, k.scopes,
           core::FormatRfc3339(k.created_at), When(k.last_used_at), When(k.revoked_at)});
  }
  t.Print(std::cout);
  return 0;
}

int RevokeKey(const Config& config, int64_t id) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto s = api::RevokeApiKey(**db, id, "cli");
  if (!s) {
    if (s.error().code() == ErrorCode::kNotFound) {
      return CliFailed("no API key has the id " + std::to_string(id) +
                       " (`telemeet api-keys list` shows them)");
    }
    return CliFailed(s.error());
  }
  AuditCli("api_key.revoked", {{"api_key_id", id}});
  // A running telemeet remembers a verified key for api.api_key_cache_ttl (2 s).
  std::cout << "revoked API key " << id << "\n";
  return 0;
}

}  // namespace

void AddAccountCommands(CLI::App& cli, CliCommands& commands) {
  CLI::App* users = cli.add_subcommand("users", "Web sign-ins: admins and doctors");
  users->require_subcommand(1);
  auto args = std::make_shared<UserArgs>();
  CLI::App* create = commands.Add(
      *users, "create",
      "Create a user; the password is read from standard input (no echo on a terminal)",
      [args](const Config& c) { return CreateUser(c, *args); });
  create->add_option("--email", args->email, "Sign-in email")->required();
  create->add_option("--role", args->role, "admin or doctor")
      ->required()
      ->check(CLI::IsMember({"admin", "doctor"}));
  create->add_option("--doctor-id", args->doctor_id,
                     "The doctor record a doctor signs in as (`telemeet doctors list`)");
  create->add_option("--name", args->name, "Display name (default: the email's local part)");
  create->add_flag("--generate-password", args->generate,
                   "Make a strong password and print it once instead of reading one");
  create->add_flag("--json", args->json, "Print the user as JSON");

  auto list_json = std::make_shared<bool>(false);
  commands
      .Add(*users, "list", "List users",
           [list_json](const Config& c) { return ListUsers(c, *list_json); })
      ->add_flag("--json", *list_json, "JSON for scripts");

  auto pw = std::make_shared<UserArgs>();
  CLI::App* set_password =
      commands.Add(*users, "set-password",
                   "Set a user's password (read from standard input) and end their sessions",
                   [pw](const Config& c) { return SetPassword(c, pw->email, pw->generate); });
  set_password->add_option("--email", pw->email, "Sign-in email")->required();
  set_password->add_flag("--generate-password", pw->generate,
                         "Make a strong password and print it once");

  auto dis = std::make_shared<UserArgs>();
  commands
      .Add(*users, "disable", "Disable a user's sign-in and end their sessions",
           [dis](const Config& c) { return Disable(c, dis->email, /*enable=*/false); })
      ->add_option("--email", dis->email, "Sign-in email")
      ->required();
  auto en = std::make_shared<UserArgs>();
  commands
      .Add(*users, "enable", "Enable a disabled user again",
           [en](const Config& c) { return Disable(c, en->email, /*enable=*/true); })
      ->add_option("--email", en->email, "Sign-in email")
      ->required();

  CLI::App* keys = cli.add_subcommand("api-keys", "Integrator API keys");
  keys->require_subcommand(1);
  struct KeyArgs {
    std::string name;
    std::string scopes = "read";
    bool json = false;
    int64_t id = 0;
  };
  auto k = std::make_shared<KeyArgs>();
  CLI::App* key_create =
      commands.Add(*keys, "create", "Create an API key and print its secret once",
                   [k](const Config& c) { return CreateKey(c, k->name, k->scopes, k->json); });
  key_create->add_option("--name", k->name, "What the key is for, e.g. \"booking system\"")
      ->required();
  key_create->add_option("--scopes", k->scopes, "\"read\", \"write\" or \"read write\"")
      ->capture_default_str();
  key_create->add_flag("--json", k->json, "Print the key (and its secret) as JSON");
  commands
      .Add(*keys, "list", "List API keys (never their secrets)",
           [k](const Config& c) { return ListKeys(c, k->json); })
      ->add_flag("--json", k->json, "JSON for scripts");
  commands
      .Add(*keys, "revoke", "Revoke an API key",
           [k](const Config& c) { return RevokeKey(c, k->id); })
      ->add_option("ID", k->id, "The key's id (`telemeet api-keys list`)")
      ->required();
}

}  // namespace telemeet::app
