# Installs the build into a scratch prefix, then builds and runs the consumer twice: through
# find_package(xraykit) and through pkg-config.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib ${WORK_DIR}/build/consumer)

run(sh -c "PKG_CONFIG_PATH=${prefix}/lib/pkgconfig c++ ${SOURCE_DIR}/main.cpp -o ${WORK_DIR}/consumer-pc \
  $(PKG_CONFIG_PATH=${prefix}/lib/pkgconfig pkg-config --cflags --libs xraykit) -Wl,-rpath,${prefix}/lib")
run(${WORK_DIR}/consumer-pc)
