// `telemeet rekey`: after a key rotation, every sealed secret under the newest key (rekey.h).
#include <unistd.h>

#include <iostream>

#include "api/accounts.h"
#include "app/cli.h"
#include "app/rekey.h"
#include "app/serve.h"

namespace telemeet::app {

namespace {

int RunRekey(const Config& config, int batch) {
  auto keys = LoadKeyRing(config);
  if (!keys) return CliFailed(keys.error());
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  std::cout << "re-sealing every secret under key \"" << keys->primary_id() << "\" ("
            << keys->size() << " key(s) in the ring)\n";
  Progress progress(std::cout, ::isatty(STDOUT_FILENO) == 1);
  RekeyOptions options;
  options.batch = batch;
  options.progress = [&progress](const RekeyProgress& p) {
    progress.Report("rekey: " + p.what, p.done, p.total);
  };
  auto report = Rekey(**db, *keys, options);
  if (!report) {
    progress.Interrupt();
    return CliFailed(report.error().message() +
                     " (what was re-sealed before stays so; run `telemeet rekey` again to go on)");
  }
  const nlohmann::json detail = {{"primary_key_id", keys->primary_id()},
                                 {"resealed", report->resealed},
                                 {"already_current", report->already_current},
                                 {"old_key_ids", report->old_key_ids}};
  AuditCli("keys.rekeyed", detail);
  if (auto s = (*db)->Transact([&](store::Tx& tx) {
        return api::AuditAs(tx, "cli", "settings", "keys.rekeyed", "master_key", detail);
      });
      !s) {
    return CliFailed(s.error());
  }
  std::cout << "done: " << report->resealed << " secret(s) re-sealed, " << report->already_current
            << " already under \"" << keys->primary_id() << "\".\n";
  if (keys->size() > 1) {
    std::cout << "Every stored secret now opens with \"" << keys->primary_id()
              << "\": the other keys can be removed from TELEMEET_MASTER_KEY or the key file "
                 "(restart telemeet after that).\n";
  }
  return 0;
}

}  // namespace

void AddKeyCommands(CLI::App& cli, CliCommands& commands) {
  auto batch = std::make_shared<int>(100);
  commands
      .Add(cli, "rekey",
           "Re-seal every stored secret under the first (newest) master key, so older keys can "
           "be dropped; resumable, safe while telemeet runs",
           [batch](const Config& c) { return RunRekey(c, *batch); })
      ->add_option("--batch", *batch, "Secrets per transaction")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
}

}  // namespace telemeet::app
