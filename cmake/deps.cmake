# External dependencies, all from Debian packages (scripts/setup.sh installs them):
# OpenBLAS (OpenMP build), OpenMP, igraph, SQLite3, zlib, jansson, libpng, libjpeg-turbo, pixman,
# cairo, Graphviz (libgvc), and Check for the tests.
find_package(PkgConfig REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS C)
find_package(ZLIB REQUIRED)
find_package(SQLite3 REQUIRED)
# igraph's CMake config demands a C++-enabled project; its pkg-config file links the shared
# library, which carries its own C++ runtime dependency.
pkg_check_modules(IGRAPH REQUIRED IMPORTED_TARGET igraph)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng) # images for ghnas predict
# Image folders (src/data): JPEG through libjpeg-turbo, resizing through pixman.
pkg_check_modules(JPEG REQUIRED IMPORTED_TARGET libjpeg)
pkg_check_modules(PIXMAN REQUIRED IMPORTED_TARGET pixman-1)
# Figures (src/plot): cairo draws SVG, PNG and PDF; Graphviz lays out architecture graphs.
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
pkg_check_modules(GVC REQUIRED IMPORTED_TARGET libgvc)

# The OpenMP flavour of OpenBLAS: make sure its cblas.h is the one we compile against.
if(NOT OPENBLAS_INCLUDE_DIRS MATCHES "openmp")
  message(WARNING "pkg-config 'openblas' is not the OpenMP build (${OPENBLAS_INCLUDE_DIRS}); "
                  "install libopenblas-openmp-dev")
endif()

add_library(ghnas_deps INTERFACE)
add_library(ghnas::deps ALIAS ghnas_deps)
target_link_libraries(ghnas_deps INTERFACE PkgConfig::OPENBLAS OpenMP::OpenMP_C ZLIB::ZLIB
  SQLite::SQLite3 PkgConfig::JANSSON PkgConfig::IGRAPH PkgConfig::PNG PkgConfig::JPEG
  PkgConfig::PIXMAN PkgConfig::CAIRO
  PkgConfig::GVC m)
