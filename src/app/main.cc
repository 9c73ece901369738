// The telemeet command line: `telemeet serve`, `telemeet migrate`, `telemeet config`,
// `telemeet purge [--dry-run]`, `telemeet --version`, and the admin commands of cli.h.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "app/config.h"
#include "app/serve.h"
#include "app/version.h"
#include "core/time.h"
#include "obs/log.h"

extern char** environ;

int main(int argc, char** argv) {
  using telemeet::app::Config;
  // Before any thread exists, so every thread inherits the mask and only main() sees them.
  sigset_t stop_signals = telemeet::app::BlockStopSignals();

  CLI::App cli{"telemeet turns clinic appointments into Google Meet consultations.", "telemeet"};
  cli.set_version_flag("--version", std::string("telemeet ") + telemeet::kVersion);
  cli.require_subcommand(1);

  telemeet::app::ConfigSources sources;
  sources.env = environ;
  std::string port, address, data_dir;
  auto add_config_options = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", sources.file, "TOML configuration file")
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", sources.sets,
                    "Override a configuration key, e.g. --set server.port=0 (repeatable)");
    cmd->add_option("--port", port, "Same as --set server.port=N");
    cmd->add_option("--address", address, "Same as --set server.address=A");
    cmd->add_option("--data-dir", data_dir, "Same as --set data_dir=D");
  };

  CLI::App* serve = cli.add_subcommand("serve", "Run the service (HTTP API, web UI, worker)");
  add_config_options(serve);
  CLI::App* migrate =
      cli.add_subcommand("migrate", "Bring the database schema up to date, then exit");
  add_config_options(migrate);
  CLI::App* config_cmd =
      cli.add_subcommand("config", "Print the effective configuration (secrets redacted)");
  add_config_options(config_cmd);
  CLI::App* purge = cli.add_subcommand(
      "purge", "Delete what retention lets go (retention.days, retention.audit_days), then exit");
  add_config_options(purge);
  bool dry_run = false;
  purge->add_flag("--dry-run", dry_run, "Count what would be deleted; delete nothing");
  telemeet::app::CliCommands commands(add_config_options);
  telemeet::app::AddAccountCommands(cli, commands);
  telemeet::app::AddAppointmentCommands(cli, commands);
  telemeet::app::AddKeyCommands(cli, commands);
  telemeet::app::AddBackupCommands(cli, commands);
  telemeet::app::AddBulkCommands(cli, commands);
  cli.footer(
      "Configuration: defaults < TOML file < TELEMEET_* environment (TELEMEET_SERVER_PORT for "
      "server.port) < --set flags.");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a wrong command line exits 2, as a wrong configuration does.
    return cli.exit(e) == 0 ? 0 : 2;
  }

  if (!port.empty()) sources.sets.push_back("server.port=" + port);
  if (!address.empty()) sources.sets.push_back("server.address=" + address);
  if (!data_dir.empty()) sources.sets.push_back("data_dir=" + data_dir);

  auto config = telemeet::app::LoadConfig(sources);
  if (!config) {
    std::cerr << "telemeet: " << config.error().message() << "\n";
    return 2;
  }
  if (config_cmd->parsed()) {
    std::cout << telemeet::app::ConfigToJson(*config).dump(2) << "\n";
    return 0;
  }
  telemeet::obs::Log().SetLevel(*telemeet::obs::ParseLevel(config->log.level));
  telemeet::core::PreloadTimeZones();  // before any thread: see its comment
  if (auto code = commands.RunParsed(*config)) return *code;
  if (migrate->parsed()) return telemeet::app::RunMigrate(*config);
  if (purge->parsed()) return telemeet::app::RunPurge(*config, dry_run, std::cout);
  return telemeet::app::RunServe(*config, stop_signals, sources.file);
}
