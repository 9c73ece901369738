// `telemeet backup --to FILE` and `telemeet restore --from FILE` (store/backup.h).
#include <iostream>

#include "app/cli.h"
#include "store/backup.h"

namespace telemeet::app {

namespace {

bool Postgres(const Config& config) { return !config.StorageUrl().starts_with("sqlite:"); }

int RunBackup(const Config& config, const std::string& to) {
  if (Postgres(config)) {
    std::cerr << "telemeet: with PostgreSQL, back up with pg_dump (the password from PGPASSWORD "
                 "or ~/.pgpass):\n";
    std::cout << store::PgDumpCommand(config.StorageUrl(), to, /*restore=*/false) << "\n";
    return 1;
  }
  if (auto s = store::BackupSqlite(config.StorageUrl(), to); !s) return CliFailed(s.error());
  AuditCli("store.backed_up", {{"to", to}});
  std::cout << "backed up " << *store::SqliteFileOf(config.StorageUrl()) << " to " << to
            << " (one consistent snapshot, mode 0600). The master key is not in it: keep that "
               "apart, or the sealed tokens in the backup cannot be opened.\n";
  return 0;
}

int RunRestore(const Config& config, const std::string& from, bool force) {
  if (Postgres(config)) {
    std::cerr << "telemeet: with PostgreSQL, restore a pg_dump backup with pg_restore:\n";
    std::cout << store::PgDumpCommand(config.StorageUrl(), from, /*restore=*/true) << "\n";
    return 1;
  }
  if (auto s = store::RestoreSqlite(from, config.StorageUrl(), {.replace = force}); !s) {
    return CliFailed(s.error());
  }
  AuditCli("store.restored", {{"from", from}});
  std::cout << "restored " << from << " into " << *store::SqliteFileOf(config.StorageUrl())
            << "; start telemeet with the master key the backup's secrets were sealed with\n";
  return 0;
}

}  // namespace

void AddBackupCommands(CLI::App& cli, CliCommands& commands) {
  auto to = std::make_shared<std::string>();
  commands
      .Add(cli, "backup",
           "Copy the live SQLite database to a new file (no stop needed); with PostgreSQL, print "
           "the pg_dump command",
           [to](const Config& c) { return RunBackup(c, *to); })
      ->add_option("--to", *to, "The new file")
      ->required();
  struct RestoreArgs {
    std::string from;
    bool force = false;
  };
  auto r = std::make_shared<RestoreArgs>();
  CLI::App* restore = commands.Add(
      cli, "restore",
      "Make the configured SQLite database a copy of a backup (refused while it is in use)",
      [r](const Config& c) { return RunRestore(c, r->from, r->force); });
  restore->add_option("--from", r->from, "A file made by `telemeet backup`")
      ->required()
      ->check(CLI::ExistingFile);
  restore->add_flag("--force", r->force, "Replace an existing database (never one in use)");
}

}  // namespace telemeet::app
