// humpty_timeit - wall time of whole processes, without a shell or `date` in the measurement.
//
//   humpty_timeit RUNS OUT -- command [args...]
//
// Runs the command RUNS times (after one untimed warm-up run), its stdout to OUT (overwritten by
// every run) and its stderr to OUT.err; prints each run's wall time in microseconds and its exit
// code, one run per line.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int run_once(char** command, const std::string& out) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd_out = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fd_err = open((out + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_out < 0 || fd_err < 0) _exit(127);
    dup2(fd_out, 1);
    dup2(fd_err, 2);
    execvp(command[0], command);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::string(argv[3]) != "--") {
    std::fprintf(stderr, "usage: humpty_timeit RUNS OUT -- command [args...]\n");
    return 2;
  }
  int runs = std::atoi(argv[1]);
  std::string out = argv[2];
  char** command = argv + 4;
  run_once(command, out);
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    int code = run_once(command, out);
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
            .count();
    std::printf("%lld %d\n", static_cast<long long>(micros), code);
    std::fflush(stdout);
  }
  return 0;
}
