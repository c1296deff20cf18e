# Installation (`cmake --install build [--prefix P]`, DESTDIR honoured), laid out like a Debian
# library: bin/ghnas; lib/libghnas.so.0 (SONAME, exports only the public API, cmake/ghnas.map)
# and lib/libghnas.a (position independent); include/ghnas.h and include/ghnas/*.h;
# share/ghnas/search_spaces/*.json (found by the installed binary, include/ghnas/space.h);
# lib/pkgconfig/ghnas.pc; lib/cmake/ghnas (find_package(ghnas) -> ghnas::ghnas, the shared
# library, and ghnas::ghnas_static); share/man/man1/ghnas.1 (help2man, from the help of every
# command); share/bash-completion/completions/ghnas (generated from the same help).
# Components: Runtime (binary, shared library, data, man page, completion) and Development.
include(CMakePackageConfigHelpers)

set(GHNAS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ghnas)
set(GHNAS_DOC_DIR ${PROJECT_BINARY_DIR}/doc)

# Installed programs find libghnas.so next to them ($ORIGIN-relative RPATH, so a moved prefix
# still works), except in a system library directory, where Debian wants no RPATH.
list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${CMAKE_INSTALL_FULL_LIBDIR}" _ghnas_sys_libdir)
if(_ghnas_sys_libdir EQUAL -1 AND NOT GHNAS_CLI_STATIC)
  file(RELATIVE_PATH _ghnas_rel "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
  set_target_properties(ghnas PROPERTIES INSTALL_RPATH "$ORIGIN/${_ghnas_rel}")
endif()

install(TARGETS ghnas RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)
install(TARGETS ghnas_shared ghnas_lib EXPORT ghnasTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/ghnas.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development)
install(DIRECTORY include/ghnas DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY search_spaces/ DESTINATION ${CMAKE_INSTALL_DATADIR}/ghnas/search_spaces
  COMPONENT Runtime FILES_MATCHING PATTERN "*.json")

# ---- CMake package: ghnasConfig.cmake, ghnasConfigVersion.cmake, ghnasTargets.cmake ---------
install(EXPORT ghnasTargets NAMESPACE ghnas:: DESTINATION ${GHNAS_CMAKE_DIR}
  COMPONENT Development)
# Libraries libghnas.a needs (libghnas.so records its own): the pkg-config modules of ghnas.pc's
# Requires.private and the OpenMP runtime of the compiler that built it.
set(GHNAS_PC_REQUIRES_PRIVATE
  "openblas igraph jansson sqlite3 zlib libpng libjpeg pixman-1 cairo libgvc")
set(GHNAS_OPENMP_LIBS ${OpenMP_C_LIB_NAMES})
list(REMOVE_DUPLICATES GHNAS_OPENMP_LIBS)
set(GHNAS_PC_LIBS_PRIVATE "")
foreach(lib ${GHNAS_OPENMP_LIBS} m)
  string(APPEND GHNAS_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
string(STRIP "${GHNAS_PC_LIBS_PRIVATE}" GHNAS_PC_LIBS_PRIVATE)
configure_package_config_file(cmake/ghnasConfig.cmake.in ${PROJECT_BINARY_DIR}/ghnasConfig.cmake
  INSTALL_DESTINATION ${GHNAS_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ghnasConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ghnasConfig.cmake ${PROJECT_BINARY_DIR}/ghnasConfigVersion.cmake
  DESTINATION ${GHNAS_CMAKE_DIR} COMPONENT Development)

# ---- pkg-config: ghnas.pc, written at install time for the prefix actually installed to -----
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(GHNAS_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(GHNAS_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(GHNAS_PC_PREFIX "@GHNAS_PC_PREFIX@") # filled in at install time
configure_file(cmake/ghnas.pc.in ${PROJECT_BINARY_DIR}/ghnas.pc.in @ONLY)
install(CODE "set(GHNAS_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/ghnas.pc.in\" \"${PROJECT_BINARY_DIR}/ghnas.pc\" @ONLY)"
  COMPONENT Development)
install(FILES ${PROJECT_BINARY_DIR}/ghnas.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT Development)

# ---- man page (help2man) and bash completion, generated from the built ghnas's help ---------
set(GHNAS_DOCS ${GHNAS_DOC_DIR}/ghnas.bash)
add_custom_command(OUTPUT ${GHNAS_DOC_DIR}/ghnas.bash
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
    bash ${PROJECT_SOURCE_DIR}/cmake/bash_completion.sh $<TARGET_FILE:ghnas>
    ${GHNAS_DOC_DIR}/ghnas.bash
  DEPENDS ghnas ${PROJECT_SOURCE_DIR}/cmake/bash_completion.sh
  COMMENT "Generating the bash completion of ghnas" VERBATIM)
install(FILES ${GHNAS_DOC_DIR}/ghnas.bash RENAME ghnas
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT Runtime)

find_program(GHNAS_HELP2MAN help2man)
if(GHNAS_HELP2MAN)
  add_custom_command(OUTPUT ${GHNAS_DOC_DIR}/ghnas.1
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
      bash ${PROJECT_SOURCE_DIR}/cmake/man_page.sh ${GHNAS_HELP2MAN} $<TARGET_FILE:ghnas>
      ${PROJECT_VERSION} ${CMAKE_INSTALL_FULL_DATADIR}/ghnas/search_spaces
      ${GHNAS_DOC_DIR}/ghnas.1
    DEPENDS ghnas ${PROJECT_SOURCE_DIR}/cmake/man_page.sh
    COMMENT "Generating the ghnas(1) man page (help2man)" VERBATIM)
  list(APPEND GHNAS_DOCS ${GHNAS_DOC_DIR}/ghnas.1)
  install(FILES ${GHNAS_DOC_DIR}/ghnas.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    COMPONENT Runtime)
  set(GHNAS_MAN_PAGE ON)
else()
  message(WARNING "help2man not found: no man page is built or installed "
                  "(apt-get install help2man; scripts/setup.sh does)")
  set(GHNAS_MAN_PAGE OFF)
endif()
add_custom_target(ghnas_docs ALL DEPENDS ${GHNAS_DOCS})

if(GHNAS_CLI_STATIC)
  set(_ghnas_cli_link "statically (GHNAS_CLI_STATIC=ON)")
else()
  set(_ghnas_cli_link "against libghnas.so")
endif()
message(STATUS "ghnas: installs into ${CMAKE_INSTALL_PREFIX}; search spaces "
               "${CMAKE_INSTALL_FULL_DATADIR}/ghnas/search_spaces; ghnas linked ${_ghnas_cli_link}")
