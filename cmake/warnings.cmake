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

if(GHNAS_NATIVE AND NOT GHNAS_SANITIZE)
  add_compile_options(-march=native)
endif()

if(GHNAS_SANITIZE)
  # IEEE division by zero (inf/NaN) is legitimate in numeric code, so it is not trapped.
  set(GHNAS_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-sanitize=float-divide-by-zero -fno-omit-frame-pointer)
  add_compile_options(${GHNAS_SAN_FLAGS})
  add_link_options(${GHNAS_SAN_FLAGS})
endif()
