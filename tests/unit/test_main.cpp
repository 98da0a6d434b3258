// The one TU per unit-test binary that defines main() for the CAF test runner.
#include <caf/test/unit_test_impl.hpp>
