// libFuzzer target for the expectations parser (runner/expectations.py), which is Python: this program
// embeds Debian's CPython 3.11, imports runner/fuzz/expectations_target.py and calls its check(bytes) on
// every input (the property itself is written there, next to the parser it checks).
//
// libFuzzer only sees coverage of instrumented native code, and CPython is not instrumented. So that the
// fuzzer is guided by the Python code it exercises, a C-level trace function (PyEval_SetTrace: no Python
// frame of its own, cheaper than sys.settrace) turns every executed line into an AFL-style edge
// (previous line -> this line, each line named by its code object and number) and counts the edge in
// libFuzzer's "extra counters" section, which libFuzzer clears before and reads after every input.
//
// A finding is a Python exception escaping check() (FuzzFinding for a violated property, anything else
// for a parser bug): the traceback is printed and the process aborts, so libFuzzer saves the input.
#include <Python.h>
#include <frameobject.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef IPCSUITE_SOURCE_DIR
#error "IPCSUITE_SOURCE_DIR (the repository root, for `import runner.expectations`) must be defined"
#endif

namespace {

constexpr size_t kCounters = 1 << 15;

// libFuzzer (clang 14) treats this section as extra coverage counters (one feature per counter bucket).
__attribute__((section("__libfuzzer_extra_counters"), used)) uint8_t g_counters[kCounters];

uintptr_t g_previous = 0;
PyObject* g_check = nullptr;

uintptr_t Mix(uintptr_t x) {
  // A cheap 64-bit finaliser (from MurmurHash3): spreads the address and the line (put in the top bits)
  // over the low bits that pick the counter.
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

void Hit(uintptr_t location) {
  uintptr_t edge = (location ^ g_previous) % kCounters;
  // Saturating: libFuzzer buckets the counts (1, 2, 3, 4-7, ...), a wrap to 0 would lose the edge.
  if (g_counters[edge] != 0xff) ++g_counters[edge];
  g_previous = location >> 1;  // shifted so that A->B and B->A are different edges, as in AFL
}

int Trace(PyObject*, PyFrameObject* frame, int what, PyObject*) {
  if (what != PyTrace_LINE && what != PyTrace_CALL && what != PyTrace_EXCEPTION) return 0;
  PyCodeObject* code = PyFrame_GetCode(frame);
  // The frame keeps its code object alive, and code objects of imported modules live until exit, so the
  // address names the function for the whole run.
  uintptr_t id = reinterpret_cast<uintptr_t>(code);
  Py_DECREF(code);
  int line = what == PyTrace_LINE ? PyFrame_GetLineNumber(frame) : -what;
  Hit(Mix(id ^ (static_cast<uintptr_t>(static_cast<unsigned>(line)) << 48)));
  return 0;
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "expectations_fuzz: %s\n", what);
  if (PyErr_Occurred()) PyErr_Print();
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  PyConfig config;
  // Isolated: no PYTHONPATH/PYTHONHOME (the pyenv interpreter on PATH must not leak in), no user site.
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;  // SIGINT, timeouts and crashes are libFuzzer's to handle
  config.parse_argv = 0;
  PyStatus status = PyConfig_SetString(&config, &config.home, L"/usr");
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) Die(status.err_msg != nullptr ? status.err_msg : "Python did not start");

  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  // IPCSUITE_FUZZ_SOURCE_DIR: another tree's runner/ (the teeth test fuzzes a copy with a planted bug).
  const char* dir = std::getenv("IPCSUITE_FUZZ_SOURCE_DIR");
  PyObject* root = PyUnicode_FromString(dir != nullptr && *dir != '\0' ? dir : IPCSUITE_SOURCE_DIR);
  if (sys_path == nullptr || root == nullptr || PyList_Insert(sys_path, 0, root) != 0)
    Die("cannot set sys.path");
  Py_DECREF(root);
  PyObject* module = PyImport_ImportModule("runner.fuzz.expectations_target");
  if (module == nullptr) Die("cannot import runner.fuzz.expectations_target");
  g_check = PyObject_GetAttrString(module, "check");
  Py_DECREF(module);
  if (g_check == nullptr) Die("runner.fuzz.expectations_target has no check()");
  // IPCSUITE_FUZZ_NO_PYTHON_COVERAGE=1: blind fuzzing, to measure what the coverage feedback is worth.
  const char* blind = std::getenv("IPCSUITE_FUZZ_NO_PYTHON_COVERAGE");
  if (blind == nullptr || std::strcmp(blind, "1") != 0) PyEval_SetTrace(Trace, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  g_previous = 0;  // every input's edges start from the same place
  PyObject* bytes =
      PyBytes_FromStringAndSize(reinterpret_cast<const char*>(data), static_cast<Py_ssize_t>(size));
  if (bytes == nullptr) Die("PyBytes_FromStringAndSize");
  PyObject* result = PyObject_CallOneArg(g_check, bytes);
  Py_DECREF(bytes);
  if (result == nullptr) Die("finding: check() raised");
  Py_DECREF(result);
  return 0;
}
