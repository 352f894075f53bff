// What LeakSanitizer (bazel test --config=asan) is told to leave out of its
// report at process exit. Linked into everything that links CAF; the function
// is only ever called by the sanitizer runtime, so other builds ignore it.
//
// - libstdc++ keeps a 128-byte block it reallocates for itself and never frees
//   (no frame of ours on its stack); it is not a leak of this program.

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libstdc++.so.6\n";
}
