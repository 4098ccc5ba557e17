// The source of the flyshard_test_pch object library (tests/CMakeLists.txt): a target needs
// one to build the precompiled header the test binaries reuse.
