//! Passes pyo3's interpreter cfgs (`Py_GIL_DISABLED` among them) to this crate,
//! so that `lib.rs` can refuse a free-threaded build by name.
fn main() {
    pyo3_build_config::print_expected_cfgs();
    pyo3_build_config::use_pyo3_cfgs();
}
