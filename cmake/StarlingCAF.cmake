# Finds CAF 0.17.6 (it ships no CMake package) and defines CAF::core and
# CAF::io. Used by the build and by the installed StarlingConfig.cmake.
if(NOT TARGET CAF::core)
  find_package(Threads REQUIRED)
  find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
  foreach(c IN ITEMS core io)
    find_library(CAF_${c}_LIBRARY caf_${c} REQUIRED)
    add_library(CAF::${c} SHARED IMPORTED)
    set_target_properties(CAF::${c} PROPERTIES IMPORTED_LOCATION "${CAF_${c}_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
  endforeach()
  target_link_libraries(CAF::core INTERFACE Threads::Threads)
  target_link_libraries(CAF::io INTERFACE CAF::core)
endif()
