# -DGHNAS_FUZZ=ON: a libFuzzer build (clang only; scripts/fuzz.sh configures it in build-fuzz/).
# Everything is compiled with coverage instrumentation for the fuzzer plus ASan and UBSan; the
# harnesses in tests/fuzz link libFuzzer's main.
option(GHNAS_FUZZ "Build the tests/fuzz harnesses as libFuzzer executables (clang)" OFF)
if(GHNAS_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "GHNAS_FUZZ needs clang (CC=clang), not ${CMAKE_C_COMPILER_ID}")
  endif()
  set(GHNAS_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
      -fno-sanitize=float-divide-by-zero -fno-omit-frame-pointer -g)
  add_compile_options(${GHNAS_FUZZ_FLAGS})
  add_link_options(-fsanitize=address,undefined)
endif()
