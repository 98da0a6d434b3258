# cmake -P script (tests/install/CMakeLists.txt): cmake --install the build
# into WORK_DIR/prefix, then build SOURCE_DIR/examples/template against it.
# The paths stay the same from run to run, so ccache hits after the first.
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/template)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR}
    --prefix ${WORK_DIR}/prefix)
foreach(f IN ITEMS lib/cmake/Starling/StarlingConfig.cmake
        include/starling/actors/logic.hpp include/starling/run_node.hpp
        lib/libstarling_node.a)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
find_program(CCACHE ccache)
set(launcher)
if(CCACHE)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE})
endif()
run("configure the template" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/template
    -B ${WORK_DIR}/template -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${launcher})
run("build the template" ${CMAKE_COMMAND} --build ${WORK_DIR}/template)
run("the template's --version"
    ${WORK_DIR}/template/my_node --version)
