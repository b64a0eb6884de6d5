// leak_canary.cpp: leaks on purpose. Under the debug tree's LeakSanitizer, with the committed
// third-party suppressions active, it must still be reported: proof that lsan.supp hides only Mesa/Dawn.
#include <cstdlib>
#include <cstring>

void* volatile g_sink;

int main() {
  void* p = std::malloc(4096);
  std::memset(p, 1, 4096);
  g_sink = p;
  g_sink = nullptr;  // the only pointer is gone: a definite leak
  return 0;
}
