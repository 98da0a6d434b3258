# `cmake --install`: the Starling libraries, their headers (include/starling,
# by path from the repository root, as in the tree) and a CMake package:
# find_package(Starling) gives Starling::starling, which carries every
# dependency (StarlingConfig.cmake finds them the way this build does).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(starling_install_targets starling_pusher starling_config starling_actors
    starling_transport starling_node starling_starling)
if(TARGET starling_bridge)
  list(APPEND starling_install_targets starling_bridge)
endif()
install(TARGETS ${starling_install_targets} EXPORT StarlingTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/starling)
foreach(dir IN ITEMS actors config pusher transport bridge)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/starling/${dir}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/run_node.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/starling)

set(starling_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Starling)
install(EXPORT StarlingTargets NAMESPACE Starling::
        DESTINATION ${starling_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/StarlingConfig.cmake.in
  ${PROJECT_BINARY_DIR}/StarlingConfig.cmake
  INSTALL_DESTINATION ${starling_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/StarlingConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/StarlingConfig.cmake
        ${PROJECT_BINARY_DIR}/StarlingConfigVersion.cmake
        ${PROJECT_SOURCE_DIR}/cmake/StarlingCAF.cmake
        DESTINATION ${starling_cmake_dir})
