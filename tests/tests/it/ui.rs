//! Compile-fail cases: mistakes the type system turns into readable compile errors.
//! Each `tests/ui/*.rs` has a reviewed `.stderr` beside it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
