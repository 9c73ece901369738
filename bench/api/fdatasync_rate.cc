// The disk's single-commit rate: how many times a second one thread can append 4 KiB to a file
// and fdatasync it, the floor of what a store that syncs every commit alone can do on that
// disk. bench/api/run.sh measures it in the directory of the database, in the same run.
//
//   bench_fdatasync DIR [seconds]    prints "fdatasync_per_s <n>" and "fdatasync_p99_ms <ms>"
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [seconds]\n", argv[0]);
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/fdatasync.probe";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror("open");
    return 1;
  }
  std::vector<char> page(4096, 'x');
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::vector<double> ms;  // each commit's latency
  // Appends, like a WAL: each sync carries the data and the file's new size.
  for (auto t = start; t < until;) {
    if (write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size()) ||
        fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      return 1;
    }
    const auto now = Clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
  }
  const size_t n = ms.size();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  unlink(path.c_str());
  std::sort(ms.begin(), ms.end());
  std::printf("fdatasync_per_s %.0f\nfdatasync_p99_ms %.2f\n", static_cast<double>(n) / elapsed,
              n == 0 ? 0.0 : ms[std::min(n - 1, n * 99 / 100)]);
  return 0;
}
