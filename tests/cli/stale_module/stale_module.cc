// A module from "another build": exports the ABI version function with a
// number no kintsugi uses, so the loader must refuse it (modules_test.cc).
extern "C" __attribute__((visibility("default"))) int ks_module_abi_version() { return -1; }
