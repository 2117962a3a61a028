// A program that dies of SIGSEGV: a fault signal is one that even a PID
// namespace's init cannot ignore, so tests can see "killed by a signal".
int main() {
  volatile int* volatile nowhere = nullptr;
  *nowhere = 1;
  return 0;
}
