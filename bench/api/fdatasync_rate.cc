// The disk's single-commit rate: how many times a second one thread can append 4 KiB to a file
// and fdatasync it, the floor of what a store that syncs every commit alone can do on that
// disk. bench/api/run.sh measures it in the directory of the database, in the same run.
//
//   bench_fdatasync DIR [seconds]      prints "fdatasync_per_s <n>"
#include <fcntl.h>
#include <unistd.h>

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
  long n = 0;
  // Appends, like a WAL: each sync carries the data and the file's new size.
  while (Clock::now() < until) {
    if (write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size()) ||
        fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      return 1;
    }
    ++n;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  unlink(path.c_str());
  std::printf("fdatasync_per_s %.0f\n", n / elapsed);
  return 0;
}
