# Compiler warnings, -Werror and sanitizers for every ghnas target.
set(GHNAS_WARNING_FLAGS
  -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
  -Wcast-qual -Wdouble-promotion -Wvla -Werror=implicit-function-declaration -Werror=implicit-int
  # snprintf into fixed message buffers truncates on purpose; GCC cannot tell that apart.
  $<$<C_COMPILER_ID:GNU>:-Wno-format-truncation>)

function(ghnas_set_warnings target)
  target_compile_options(${target} PRIVATE ${GHNAS_WARNING_FLAGS})
  if(GHNAS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# CPU target: portable unless GHNAS_NATIVE asks for this machine's CPU. The choice is reported
# here and by `ghnas --version` (GHNAS_CPU_TARGET).
if(GHNAS_NATIVE AND NOT GHNAS_SANITIZE)
  add_compile_options(-march=native)
  set(_ghnas_march "")
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    execute_process(COMMAND ${CMAKE_C_COMPILER} -march=native -Q --help=target
      OUTPUT_VARIABLE _ghnas_target ERROR_QUIET)
    string(REGEX MATCH "-march=[ \t]*([A-Za-z0-9_.-]+)" _m "${_ghnas_target}")
    set(_ghnas_march " = ${CMAKE_MATCH_1}")
  endif()
  set(GHNAS_CPU_TARGET "this build machine's CPU (-march=native${_ghnas_march}, GHNAS_NATIVE=ON)")
else()
  set(GHNAS_CPU_TARGET
    "any ${CMAKE_SYSTEM_PROCESSOR} CPU (the compiler's default target, GHNAS_NATIVE=OFF)")
  if(GHNAS_NATIVE)
    string(APPEND GHNAS_CPU_TARGET ", -march=native is not used with GHNAS_SANITIZE")
  endif()
endif()
message(STATUS "ghnas: CPU target: ${GHNAS_CPU_TARGET}")

if(GHNAS_SANITIZE)
  # IEEE division by zero (inf/NaN) is legitimate in numeric code, so it is not trapped.
  set(GHNAS_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-sanitize=float-divide-by-zero -fno-omit-frame-pointer)
  add_compile_options(${GHNAS_SAN_FLAGS})
  add_link_options(${GHNAS_SAN_FLAGS})
endif()
